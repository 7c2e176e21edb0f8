/** `parley doctor` opens each device for real: what works is "ok", what can't open says why, exit 1. */
import { EXIT } from '../../src/client/exit-codes';
import { alsaFileDevice, brokenAlsaConfig } from '../helpers/audio';
import { run } from './helpers/parley';

jest.setTimeout(60_000);

test('with devices that open, every backend is ok and doctor exits 0', async () => {
  const device = alsaFileDevice(new Int16Array(48000));
  try {
    const r = run(['doctor'], { env: { ALSA_CONFIG_PATH: device.confPath } });
    expect(await r.exited).toBe(EXIT.ok);
    expect(r.out()).toMatch(/^ {2}opus +ok +.*: works$/m);
    // The voice engines are built by the set-up (binding.gyp) and really process a frame.
    expect(r.out()).toMatch(/^ {2}webrtc-apm +ok +echo cancellation, noise suppression, gain control work$/m);
    expect(r.out()).toMatch(/^ {2}speexdsp +ok +echo cancellation, noise suppression, gain control work$/m);
    expect(r.out()).toMatch(/^ {2}a microphone's calls use: aec webrtc-apm, ns webrtc-apm, agc webrtc-apm$/m);
    expect(r.out()).toMatch(/^ {2}mic:arecord +ok +captured audio from ALSA device "default"$/m);
    expect(r.out()).toMatch(/^ {2}speaker:aplay +ok +played to ALSA device "default"$/m);
    // PulseAudio is whatever this machine has (no server here, a desktop's elsewhere); ALSA works.
    expect(r.out().split('\n').filter((l) => /FAILED/.test(l) && !/^ {2}(mic|speaker):pulse /.test(l))).toEqual([]);
    expect(r.out()).not.toMatch(/Nothing here/);
  } finally {
    device.cleanup();
  }
});

test('with no sound card, each backend says why it failed and doctor exits 1; --verbose adds ALSA\'s own text', async () => {
  const broken = brokenAlsaConfig();
  try {
    const r = run(['doctor', '--json'], { env: { ALSA_CONFIG_PATH: broken.env.ALSA_CONFIG_PATH! } });
    expect(await r.exited).toBe(EXIT.failed);
    const report = JSON.parse(r.out()) as { devices: { spec: string; status: string; message: string }[]; canCapture: boolean; canPlay: boolean };
    expect(report).toMatchObject({ canCapture: false, canPlay: false });
    for (const d of report.devices) {
      expect(d.status).not.toBe('ok');
      if (d.status === 'failed') expect(d.message).toMatch(/would not open: .+/);
    }
    const readable = run(['doctor', '--verbose'], { env: { ALSA_CONFIG_PATH: broken.env.ALSA_CONFIG_PATH! } });
    expect(await readable.exited).toBe(EXIT.failed);
    expect(readable.out()).toMatch(/^ {2}mic:arecord +FAILED +the microphone \(arecord\) would not open: .+$/m);
    expect(readable.out()).toContain('Nothing here can capture audio');
    expect(readable.out()).toContain('Nothing here can play audio');
    // The device's own words, indented under its line.
    expect(readable.out()).toMatch(/FAILED .*\n {6}\S/);
  } finally {
    broken.cleanup();
  }
});

test('doctor says which backend and device a call would use, and fails on a device that is not there', async () => {
  const device = alsaFileDevice(new Int16Array(48000));
  try {
    const r = run(['doctor', '--output', 'speaker:aplay'], { env: { ALSA_CONFIG_PATH: device.confPath } });
    expect(await r.exited).toBe(EXIT.ok);
    expect(r.out()).toMatch(/^ {2}input {3}mic {12}PulseAudio, else arecord, → the default device$/m);
    expect(r.out()).toMatch(/^ {2}output {2}speaker:aplay {2}aplay → the default device$/m);
    const json = run(['doctor', '--json', '--input', 'mic:sox:attic', '--output', 'b.wav'], { env: { ALSA_CONFIG_PATH: device.confPath } });
    expect(await json.exited).toBe(EXIT.failed);
    const { using } = JSON.parse(json.out()) as { using: { side: string; ok: boolean; label: string }[] };
    expect(using).toEqual([
      { side: 'input', spec: 'mic:sox:attic', ok: false, label: expect.stringMatching(/^no capture device "attic": the capture devices here are /) },
      { side: 'output', spec: 'b.wav', ok: true, label: 'no device (a file, a tone, silence or null)' },
    ]);
  } finally {
    device.cleanup();
  }
});
