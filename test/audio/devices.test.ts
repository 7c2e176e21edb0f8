/**
 * The real device backends (arecord/sox as the microphone, the speaker addon in its worker)
 * through ALSA's file plugin: no sound card needed, but every byte goes through ALSA.
 */
import { MicSource, SpeakerSink, audioDeviceReport, createSink, createSource, signals, type Frame } from '../../src/audio';
import { alsaFileDevice, brokenAlsaConfig, dominantFrequency, rms, toneShare, type AlsaFileDevice } from '../helpers/audio';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('device report', () => {
  it('lists each backend with where it is or what to install', () => {
    const report = audioDeviceReport();
    expect(report.map((d) => d.name)).toEqual(['arecord', 'sox', 'node-record-lpcm16', 'speaker', 'aplay']);
    for (const d of report) expect(d.available ? d.detail : d.install).toBeTruthy();
    // CI installs alsa-utils, sox and the speaker addon.
    expect(report.every((d) => d.available)).toBe(true);
  });
});

describe.each(['arecord', 'sox'] as const)('microphone via %s', (recorder) => {
  let dev: AlsaFileDevice;
  beforeEach(() => {
    dev = alsaFileDevice(signals.tone(700, 10000, 0.5));
  });
  afterEach(() => dev.cleanup());

  it('delivers the captured tone, paced one frame per period', async () => {
    const mic = createSource(`mic:${recorder}`, { env: dev.env }) as MicSource;
    expect(mic.description).toBe(`mic ${recorder} default`);
    const frames: Frame[] = [];
    await mic.start(960, (f) => frames.push(f));
    await wait(500);
    await mic.stop();
    // The file device delivers far faster than real time: pacing holds it to ~25 frames.
    expect(frames.length).toBeGreaterThanOrEqual(15);
    expect(frames.length).toBeLessThanOrEqual(30);
    expect(frames.every((f) => f.length === 960)).toBe(true);
    // Drops cut the stream between frames, never inside one: each frame is clean tone.
    // (700 Hz is 7 whole cycles per 10 ms ALSA period, so even the device's repeat of its last
    // period once IN.raw is used up stays a clean tone.)
    for (const frame of frames) {
      expect(Math.abs(dominantFrequency(frame, 48000, 300, 1500, 5) - 700)).toBeLessThanOrEqual(10);
      expect(toneShare(frame, 700)).toBeGreaterThan(0.9);
    }
    // What arrived beyond the 200 ms queue limit was dropped, and counted.
    expect(mic.stats.droppedSamples).toBeGreaterThan(0);
    expect(mic.stats.frames + mic.stats.underruns).toBe(frames.length);
  });

  it('rejects start with the recorder\'s own words for a device that does not exist', async () => {
    const mic = new MicSource({ recorder, device: 'no_such_device', env: dev.env });
    await expect(mic.start(960, () => {})).rejects.toThrow(new RegExp(`microphone \\(${recorder}, device "no_such_device"\\) exited with code \\d+: .+`));
  });
});

describe('microphone errors', () => {
  it('says what to install when the recorder binary is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(createSource('mic').start(960, () => {})).rejects.toThrow(/arecord is not installed \(apt-get install alsa-utils\)/);
      await expect(createSource('mic:sox').start(960, () => {})).rejects.toThrow(/sox is not installed \(apt-get install sox/);
    } finally {
      process.env.PATH = path;
    }
  });

  it('rejects an unknown recorder in the spec', () => {
    expect(() => createSource('mic:pulse')).toThrow(/unknown audio source "mic:pulse"/);
  });
});

describe('speaker', () => {
  let dev: AlsaFileDevice;
  beforeEach(() => {
    dev = alsaFileDevice(new Int16Array(4800));
  });
  afterEach(() => dev.cleanup());

  it.each(['speaker', 'speaker:aplay'])('%s plays frames into the device (OUT.raw holds the tone)', async (spec) => {
    const sink = createSink(spec, { env: dev.env });
    await sink.open();
    const tone = signals.tone(900, 600, 0.5);
    for (let i = 0; i < tone.length; i += 960) {
      sink.write(tone.subarray(i, i + 960));
      await wait(20);
    }
    await sink.close();
    const out = dev.output();
    expect(out.length).toBeGreaterThanOrEqual(tone.length * 0.9);
    expect(Math.abs(dominantFrequency(out, 48000, 300, 2000, 2) - 900)).toBeLessThanOrEqual(2);
    expect(rms(out)).toBeGreaterThan(0.5 * rms(tone));
  });

  it('a device that cannot open rejects open() with ALSA\'s message, and this process lives on', async () => {
    const bad = brokenAlsaConfig();
    try {
      const sink = new SpeakerSink({ env: bad.env });
      const errors: Error[] = [];
      sink.on('error', (e) => errors.push(e));
      // The addon aborts on this configuration: only its worker dies.
      await expect(sink.open()).rejects.toThrow(/speaker: the device failed to open \(worker killed by SIGABRT.*cannot open device/);
      sink.write(new Int16Array(960));
      await sink.close();
      expect(errors).toEqual([]);
    } finally {
      bad.cleanup();
    }
  });

  it('reports a worker that dies mid-stream as an error event', async () => {
    const sink = new SpeakerSink({ env: dev.env });
    await sink.open();
    const error = new Promise<Error>((resolve) => sink.on('error', resolve));
    sink.write(new Int16Array(960));
    (sink as unknown as { child: { kill(s: string): void } }).child.kill('SIGKILL');
    await expect(error).resolves.toThrow(/speaker: the audio device stopped \(worker killed by SIGKILL/);
    sink.write(new Int16Array(960));
    await sink.close();
  });
});
