/**
 * The aplay speaker backend through ALSA's file plugin: no sound card needed, but every byte
 * goes through aplay and ALSA.
 */
import type { ChildProcess } from 'node:child_process';
import { AplaySink, AudioError, FirstSink, PulseSink, SpeakerSink, createSink } from '../../src/audio';
import { APLAY_READY, alsaReason, aplayArgs, arecordArgs, soxCaptureArgs } from '../../src/audio/alsa';
import { alsaFileDevice, brokenAlsaConfig, type AlsaFileDevice } from '../helpers/audio';
import { waitFor } from '../helpers/wait';

const childOf = (sink: AplaySink) => (sink as unknown as { state: { child?: ChildProcess } }).state.child;

describe('speaker specs', () => {
  it('make "speaker" the first of PulseAudio and aplay that opens, and name each backend', () => {
    expect(createSink('speaker')).toBeInstanceOf(FirstSink);
    expect(createSink('speaker:pulse')).toBeInstanceOf(PulseSink);
    expect(createSink('speaker:addon')).toBeInstanceOf(SpeakerSink);
    expect(createSink('speaker:aplay')).toBeInstanceOf(AplaySink);
    expect(() => createSink('speaker:arecord')).toThrow(/unknown audio sink "speaker:arecord" \(expected .*speaker:aplay/);
  });
});

describe('ALSA programs', () => {
  const stream = { device: 'hw:1,0', sampleRate: 48000, channels: 1 };

  it('arecord and aplay get the same stream options; aplay reports its setup and starts after one period', () => {
    const common = ['-D', 'hw:1,0', '-r', '48000', '-c', '1', '-f', 'S16_LE', '-t', 'raw', '--period-time=10000', '--buffer-time=40000'];
    expect(arecordArgs(stream)).toEqual(['-q', ...common, '-']);
    expect(aplayArgs(stream)).toEqual(['-q', '-v', '--start-delay=10000', ...common, '-']);
    expect(aplayArgs({ ...stream, startDelayUs: 20000 })).toContain('--start-delay=20000');
    expect(soxCaptureArgs(stream)).toEqual([
      '-q', '--buffer', '960', '-t', 'alsa', '-r', '48000', '-c', '1', '-b', '16', '-e', 'signed-integer', 'hw:1,0',
      '-t', 'raw', '-r', '48000', '-c', '1', '-b', '16', '-e', 'signed-integer', '-',
    ]);
    expect(APLAY_READY.test('Plug PCM: Hardware PCM card 0\nIts setup is:\n  stream : PLAYBACK')).toBe(true);
  });

  it.each([
    ["ALSA lib confmisc.c:855:(parse_card) cannot find card '0'\nALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM default\narecord: main:831: audio open error: No such file or directory", 'no sound card 0'],
    ['ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM mic2\naplay: main:831: audio open error: No such file or directory', 'no such device "mic2"'],
    ['aplay: main:831: audio open error: No such file or directory', 'no such device'],
    ['arecord: main:831: audio open error: Device or resource busy', 'device or resource busy'],
    ["sox FAIL formats: can't open input  `hw:3': snd_pcm_open error: Permission denied", 'permission denied'],
    ["[../deps/mpg123/src/output/alsa.c:165] error: cannot open device default\nnode: pcm_params.c:2354: snd_pcm_hw_refine: Assertion `pcm && params' failed.", 'cannot open device "default"'],
    ['Its setup is:\n  stream       : PLAYBACK\n  boundary     : 4611686018427387904', undefined],
  ])('reduce what ALSA said to one reason: %#', (text, reason) => {
    expect(alsaReason(text)).toBe(reason);
  });
});

describe('speaker via aplay', () => {
  let dev: AlsaFileDevice;
  beforeEach(() => {
    dev = alsaFileDevice(new Int16Array(4800));
  });
  afterEach(() => dev.cleanup());

  it('keeps at most two frames waiting for aplay, dropping the oldest', async () => {
    const sink = new AplaySink({ env: dev.env });
    await sink.open();
    // Written in one go, all but the frame in flight and two behind it must go.
    for (let i = 0; i < 10; i++) sink.write(new Int16Array(960));
    expect(sink.stats).toEqual({ frames: 10, dropped: 7 });
    await sink.close();
    // aplay may pad its last period with silence.
    expect(dev.output().length).toBeGreaterThanOrEqual(3 * 960);
    expect(dev.output().length).toBeLessThan(4 * 960);
  });

  it("a device that cannot open rejects open() in one line, with aplay's words kept as detail", async () => {
    const bad = brokenAlsaConfig();
    try {
      const sink = new AplaySink({ env: bad.env });
      const errors: Error[] = [];
      sink.on('error', (e) => errors.push(e));
      // Settled by aplay's exit, however long it takes: no guess from how long it ran.
      const err = await sink.open().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AudioError);
      expect(err).toMatchObject({ code: 'output_device', message: 'the speaker (aplay) would not open: no such device' });
      expect((err as AudioError).detail).toMatch(/exited with code 1\naplay: .*audio open error: No such file or directory/);
      sink.write(new Int16Array(960));
      await sink.close();
      expect(errors).toEqual([]);
    } finally {
      bad.cleanup();
    }
  });

  it('says what to install when aplay is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(createSink('speaker:aplay').open()).rejects.toThrow(/aplay is not installed \(apt-get install alsa-utils\)/);
    } finally {
      process.env.PATH = path;
    }
  });

  it('reports aplay dying mid-stream as an output_device error event', async () => {
    const sink = new AplaySink({ env: dev.env });
    await sink.open();
    const error = waitFor<[AudioError]>(sink, 'error');
    sink.write(new Int16Array(960));
    childOf(sink)?.kill('SIGKILL');
    const [err] = await error;
    expect(err).toMatchObject({ code: 'output_device', message: 'the speaker (aplay) stopped: killed by SIGKILL' });
    sink.write(new Int16Array(960));
    await sink.close();
  });

  it('open() is idempotent; closing while it opens rejects the open and leaves no aplay behind', async () => {
    const sink = new AplaySink({ env: dev.env });
    await Promise.all([sink.open(), sink.open()]);
    const first = childOf(sink) as ChildProcess;
    await sink.open();
    expect(childOf(sink)).toBe(first);
    await sink.close();
    expect(first.exitCode).toBe(0);

    const opening = sink.open();
    const child = childOf(sink) as ChildProcess;
    await sink.close();
    await expect(opening).rejects.toMatchObject({ code: 'output_device', message: 'the speaker (aplay) would not open: closed before the device opened' });
    expect(child.exitCode ?? child.signalCode).not.toBeNull();
    // And it opens again afterwards.
    await sink.open();
    await sink.close();
  });
});
