/**
 * The real device backends (arecord/sox as the microphone, the speaker addon in its worker)
 * through ALSA's file plugin: no sound card needed, but every byte goes through ALSA. Each test
 * waits for what it checks (frames, exits, events); none relies on how fast the machine is.
 */
import type { ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { AplaySink, AudioError, MicSource, SpeakerSink, audioDeviceReport, createSource, signals, type Frame } from '../../src/audio';
import { alsaFileDevice, brokenAlsaConfig, dominantFrequency, rms, toneShare, type AlsaFileDevice } from '../helpers/audio';
import { waitFor, waitUntil } from '../helpers/wait';

/** The recorder process of a mic, or the child of a child-process sink (test access to internals). */
const recorderOf = (mic: MicSource) => (mic as unknown as { recording?: { process: ChildProcess } }).recording?.process;
const childOf = (sink: unknown) => (sink as { state: { child?: ChildProcess } }).state.child;

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

  it('delivers the captured tone, never ahead of real time', async () => {
    const mic = createSource(`mic:${recorder}`, { env: dev.env }) as MicSource;
    expect(mic.description).toBe(`mic ${recorder} default`);
    const frames: Frame[] = [];
    const t0 = performance.now();
    await mic.start(960, (f) => frames.push(f));
    await waitUntil(() => mic.stats.frames >= 15, '15 frames of captured audio');
    const elapsed = performance.now() - t0;
    const delivered = frames.length;
    await mic.stop();
    // The file device delivers far faster than real time: the clock holds it to one frame per
    // period (the first at once, one more may leave a period early). A slow machine only delays.
    expect(delivered).toBeLessThanOrEqual(Math.floor(elapsed / 20) + 2);
    expect(frames.every((f) => f.length === 960)).toBe(true);
    expect(mic.stats.frames + mic.stats.underruns).toBe(frames.length);
    // A frame is either captured tone or, when the machine kept the audio from arriving in
    // time, an underrun of silence; drops cut the stream between frames, never inside one.
    // (700 Hz is 7 whole cycles per 10 ms ALSA period, so even the device's repeat of its last
    // period once IN.raw is used up stays a clean tone.)
    const silent = frames.filter((f) => rms(f) === 0);
    expect(silent.length).toBe(mic.stats.underruns);
    for (const frame of frames.filter((f) => rms(f) > 0)) {
      expect(Math.abs(dominantFrequency(frame, 48000, 300, 1500, 5) - 700)).toBeLessThanOrEqual(10);
      expect(toneShare(frame, 700)).toBeGreaterThan(0.9);
    }
    // What arrived beyond the 200 ms queue limit was dropped, and counted.
    expect(mic.stats.droppedSamples).toBeGreaterThan(0);
  });

  it('open() starts the recorder before any frame size is known, once; stop() releases it unstarted', async () => {
    const mic = new MicSource({ recorder, env: dev.env });
    await Promise.all([mic.open(), mic.open()]);
    const process = recorderOf(mic);
    expect(process?.pid).toBeDefined();
    await mic.open();
    expect(recorderOf(mic)).toBe(process);
    const exited = waitFor(process as ChildProcess, 'exit');
    await mic.stop();
    await exited;
    expect(recorderOf(mic)).toBeUndefined();
  });

  it('a device that does not exist fails open() in one line, the recorder\'s own words kept as detail', async () => {
    const mic = new MicSource({ recorder, device: 'no_such_device', env: dev.env });
    const err = await mic.start(960, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AudioError);
    expect(err).toMatchObject({ code: 'input_device', message: `the microphone (${recorder}) would not open: no such device "no_such_device"` });
    expect((err as AudioError).detail).toMatch(/exited with code \d+:\n.*Unknown PCM no_such_device/);
  });

  it('a recorder that dies mid-call is an input_device error event', async () => {
    const mic = new MicSource({ recorder, env: dev.env });
    await mic.start(960, () => {});
    const error = waitFor<[AudioError]>(mic, 'error');
    recorderOf(mic)?.kill('SIGKILL');
    const [err] = await error;
    expect(err).toBeInstanceOf(AudioError);
    expect(err).toMatchObject({ code: 'input_device', message: `the microphone (${recorder}) stopped: was killed by SIGKILL` });
    await mic.stop();
  });
});

describe('microphone errors', () => {
  it('says what to install when the recorder binary is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(createSource('mic').open()).rejects.toThrow(/arecord is not installed \(apt-get install alsa-utils\)/);
      await expect(createSource('mic:sox').start(960, () => {})).rejects.toThrow(/sox is not installed \(apt-get install sox/);
    } finally {
      process.env.PATH = path;
    }
  });

  it('rejects a backend of the other side in the spec', () => {
    expect(() => createSource('mic:aplay')).toThrow(/unknown audio source "mic:aplay"/);
  });
});

describe('speaker', () => {
  let dev: AlsaFileDevice;
  beforeEach(() => {
    dev = alsaFileDevice(new Int16Array(4800));
  });
  afterEach(() => dev.cleanup());

  it.each(['speaker:addon', 'speaker:aplay'])('%s plays frames into the device (OUT.raw holds the tone)', async (spec) => {
    // Queues long enough for the whole tone: what is checked is the path into ALSA, not how
    // a backlog is shed (aplay-sink.test.ts does that).
    const sink = spec === 'speaker:addon' ? new SpeakerSink({ env: dev.env, maxQueueMs: 5000 }) : new AplaySink({ env: dev.env, maxQueuedFrames: 100 });
    await sink.open();
    const tone = signals.tone(900, 600, 0.5);
    for (let i = 0; i < tone.length; i += 960) sink.write(tone.subarray(i, i + 960));
    await sink.close();
    const out = dev.output();
    expect(out.length).toBeGreaterThanOrEqual(tone.length);
    expect(Math.abs(dominantFrequency(out, 48000, 300, 2000, 2) - 900)).toBeLessThanOrEqual(2);
    expect(rms(out)).toBeGreaterThan(0.5 * rms(tone));
  });

  it("a device that cannot open rejects open() in one line, ALSA's dump kept as detail, and this process lives on", async () => {
    const bad = brokenAlsaConfig();
    try {
      const sink = new SpeakerSink({ env: bad.env });
      const errors: Error[] = [];
      sink.on('error', (e) => errors.push(e));
      // The addon aborts on this configuration: only its worker dies.
      const err = await sink.open().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AudioError);
      expect(err).toMatchObject({ code: 'output_device', message: 'the speaker (speaker addon) would not open: cannot open device "default"' });
      expect((err as AudioError).detail).toMatch(/killed by SIGABRT\n[^]*cannot open device default[^]*Assertion/);
      sink.write(new Int16Array(960));
      await sink.close();
      expect(errors).toEqual([]);
    } finally {
      bad.cleanup();
    }
  });

  it('reports a worker that dies mid-stream as an output_device error event', async () => {
    const sink = new SpeakerSink({ env: dev.env });
    await sink.open();
    const error = waitFor<[AudioError]>(sink, 'error');
    sink.write(new Int16Array(960));
    childOf(sink)?.kill('SIGKILL');
    const [err] = await error;
    expect(err).toMatchObject({ code: 'output_device', message: 'the speaker (speaker addon) stopped: killed by SIGKILL' });
    sink.write(new Int16Array(960));
    await sink.close();
  });

  it('open() is idempotent and close() releases a device opened but never written to', async () => {
    const sink = new SpeakerSink({ env: dev.env });
    await Promise.all([sink.open(), sink.open()]);
    const child = childOf(sink) as ChildProcess;
    await sink.open();
    expect(childOf(sink)).toBe(child);
    await sink.close();
    expect(child.exitCode ?? child.signalCode).not.toBeNull();
    await sink.close();
  });
});
