/**
 * The clock and the paced sources, on time that the tests move (ManualTimers): what is checked
 * is the schedule itself, so a busy machine cannot make it pass or fail.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AudioError,
  createSink,
  createSource,
  encodeWav,
  signals,
  FrameClock,
  NullSink,
  SilenceSource,
  ToneSource,
  WavFileSink,
  WavFileSource,
  type Frame,
} from '../../src/audio';
import { SampleFifo } from '../../src/audio/sources/sample-fifo';
import { ManualTimers, concatFrames, dominantFrequency, rms } from '../helpers/audio';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'parley-src-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('FrameClock', () => {
  it('keeps its long-run rate however late the timers fire and however long a tick takes', () => {
    const timers = new ManualTimers();
    let ticks = 0;
    // Each tick takes 3 ms and every timer fires 2 ms late: a clock that added its delays
    // would slip to one tick every 15 ms, ~67 in a second.
    const clock = new FrameClock(10, () => {
      ticks++;
      timers.stall(3);
    }, { timers });
    clock.start();
    timers.advance(1000, 2);
    clock.stop();
    expect(ticks).toBeGreaterThanOrEqual(100);
    expect(ticks).toBeLessThanOrEqual(101);
    expect(clock.count).toBe(ticks);
  });

  it('without catch-up skips the ticks a stall missed instead of bursting them', () => {
    const timers = new ManualTimers();
    const at: number[] = [];
    const clock = new FrameClock(10, () => at.push(timers.now()), { catchUp: false, timers });
    clock.start();
    timers.advance(50);
    expect(at).toEqual([0, 10, 20, 30, 40, 50]);
    timers.stall(100);
    timers.advance(50);
    clock.stop();
    // The overdue timer fires at 150: one tick then, the nine it missed skipped and counted.
    expect(at.filter((t) => t === 150)).toHaveLength(1);
    expect(at.slice(6)).toEqual([150, 160, 170, 180, 190, 200]);
    expect(clock.skipped).toBe(9);
    expect(clock.count).toBe(6 + 9 + 6);
  });

  it('with catch-up (sources) delivers the missed ticks at once, keeping the count exact', () => {
    const timers = new ManualTimers();
    const at: number[] = [];
    const clock = new FrameClock(10, () => at.push(timers.now()), { timers });
    clock.start();
    timers.advance(50);
    timers.stall(100);
    timers.advance(50);
    clock.stop();
    expect(at.filter((t) => t === 150)).toHaveLength(10);
    expect(clock.skipped).toBe(0);
    expect(clock.count).toBe(21);
  });

  it('starts after a delay when asked, and stop() leaves no timer behind', () => {
    const timers = new ManualTimers();
    const at: number[] = [];
    const clock = new FrameClock(20, () => at.push(timers.now()), { timers });
    clock.start(7);
    timers.advance(50);
    expect(at).toEqual([7, 27, 47]);
    clock.stop();
    expect(timers.size).toBe(0);
    timers.advance(100);
    expect(at).toHaveLength(3);
  });

  it('sooner() brings the next tick and the rest of the schedule forward, from inside a tick or between ticks', () => {
    const timers = new ManualTimers();
    const at: number[] = [];
    let clock!: FrameClock;
    clock = new FrameClock(20, () => {
      at.push(timers.now());
      if (at.length === 2) clock.sooner(5);
    }, { timers });
    clock.start();
    timers.advance(60);
    expect(at).toEqual([0, 20, 35, 55]);
    timers.advance(5); // t = 65, between ticks
    clock.sooner(8);
    timers.advance(40);
    expect(at.slice(4)).toEqual([67, 87]);
    // Never more than a period at once: the next tick is due at once, not in the past.
    clock.sooner(1000);
    timers.advance(0);
    expect(at.slice(6)).toEqual([105]);
    clock.stop();
  });

  it('delay() moves the rest of the schedule later', () => {
    const timers = new ManualTimers();
    const at: number[] = [];
    const clock = new FrameClock(20, () => at.push(timers.now()), { timers });
    clock.start();
    timers.advance(10);
    clock.delay(4);
    timers.advance(50);
    clock.stop();
    expect(at).toEqual([0, 24, 44]);
  });
});

describe('SampleFifo', () => {
  it('queues, grows, hands out whole frames and drops the oldest on request', () => {
    const fifo = new SampleFifo(4);
    fifo.push(Int16Array.from([1, 2, 3]));
    fifo.push(Int16Array.from([4, 5, 6, 7, 8]));
    expect(fifo.length).toBe(8);
    expect(Array.from(fifo.shift(2) as Int16Array)).toEqual([1, 2]);
    expect(fifo.trimTo(3)).toBe(3);
    expect(fifo.shift(4)).toBeNull();
    expect(Array.from(fifo.shift(3) as Int16Array)).toEqual([6, 7, 8]);
    expect(fifo.trimTo(5)).toBe(0);
  });
});

/** Starts a source on manual time and collects its frames with the time each came. */
async function run(source: { start(samples: number, onFrame: (f: Frame) => void): Promise<void> }, timers: ManualTimers, samples: number) {
  const frames: Frame[] = [];
  const times: number[] = [];
  await source.start(samples, (f) => {
    frames.push(f);
    times.push(timers.now());
  });
  return { frames, times };
}

describe('tone and silence sources', () => {
  it('deliver one frame per period, the first at once, with the phase carried across frames', async () => {
    const timers = new ManualTimers();
    const source = new ToneSource(1000, 0.3, { timers });
    expect(source.description).toBe('tone 1000 Hz');
    const { frames, times } = await run(source, timers, 960);
    timers.advance(1000);
    await source.stop();
    expect(times).toEqual(Array.from({ length: 51 }, (_, k) => k * 20));
    expect(frames.every((f) => f.length === 960)).toBe(true);
    const audio = concatFrames(frames);
    expect(Math.abs(dominantFrequency(audio, 48000, 500, 1500, 2) - 1000)).toBeLessThanOrEqual(2);
    // Phase carries across frames: no click at the boundaries.
    for (let i = 960; i < audio.length; i += 960) expect(Math.abs(audio[i] - audio[i - 1])).toBeLessThan(1500);
  });

  it('silence is silent', async () => {
    const timers = new ManualTimers();
    const source = new SilenceSource({ timers });
    const { frames } = await run(source, timers, 480);
    timers.advance(100);
    await source.stop();
    expect(frames).toHaveLength(11);
    expect(rms(concatFrames(frames))).toBe(0);
  });

  it('refuses a second start and bad parameters', async () => {
    const source = createSource('tone');
    await source.start(960, () => {});
    await expect(source.start(960, () => {})).rejects.toThrow(/already started/);
    await source.stop();
    await expect(createSource('tone').start(0, () => {})).rejects.toThrow(/frame size/);
    expect(() => createSource('tone:abc')).toThrow(/frequency/);
    expect(() => createSource('tone:30000')).toThrow(/out of range/);
  });

  it('can be started again after a stop', async () => {
    const timers = new ManualTimers();
    const source = new ToneSource(440, 0.3, { timers });
    await run(source, timers, 480);
    await source.stop();
    const again = await run(source, timers, 480);
    timers.advance(20);
    await source.stop();
    expect(again.frames).toHaveLength(3);
  });
});

describe('WAV file source', () => {
  it('plays a file once at one frame per period, then ends', async () => {
    const path = join(dir, 'clip.wav');
    // 300 ms at 44.1 kHz: 300 ms → 14400 samples at 48 kHz → 15 frames, the last one padded.
    const clip = signals.tone(660, 300, 0.5, 44100);
    writeFileSync(path, encodeWav(clip, 44100));
    const timers = new ManualTimers();
    const source = new WavFileSource(path, false, { timers });
    let endedAt: number | undefined;
    source.on('end', () => (endedAt = timers.now()));
    const { frames } = await run(source, timers, 960);
    timers.advance(1000);
    expect(frames.length).toBe(15);
    // The 16th tick finds the file used up.
    expect(endedAt).toBe(300);
    expect(Math.abs(dominantFrequency(concatFrames(frames), 48000, 300, 1000, 2) - 660)).toBeLessThanOrEqual(2);
    await source.stop();
  });

  it('loops when asked', async () => {
    const path = join(dir, 'short.wav');
    writeFileSync(path, encodeWav(signals.tone(440, 50)));
    const timers = new ManualTimers();
    const source = new WavFileSource(path, true, { timers });
    let ended = false;
    source.on('end', () => (ended = true));
    const { frames } = await run(source, timers, 960);
    timers.advance(300);
    await source.stop();
    expect(frames).toHaveLength(16);
    expect(ended).toBe(false);
    expect(rms(frames[frames.length - 1])).toBeGreaterThan(1000);
  });

  it('reads a file in the pipeline format as it plays; converts any other whole at open', async () => {
    const rate48 = join(dir, 'stream48.wav');
    const rate441 = join(dir, 'whole441.wav');
    writeFileSync(rate48, encodeWav(signals.tone(440, 200)));
    writeFileSync(rate441, encodeWav(signals.tone(440, 200, 0.5, 44100), 44100));
    const played = async (path: string) => {
      const timers = new ManualTimers();
      const source = new WavFileSource(path, false, { timers });
      await source.open();
      // Silence over the file's last 100 ms of data, after open.
      const fd = openSync(path, 'r+');
      const half = Buffer.alloc((path === rate48 ? 4800 : 4410) * 2);
      writeSync(fd, half, 0, half.length, 44 + half.length);
      closeSync(fd);
      const { frames } = await run(source, timers, 960);
      timers.advance(400);
      await source.stop();
      return frames;
    };
    const streamed = await played(rate48);
    expect(streamed).toHaveLength(10);
    expect(rms(streamed[2])).toBeGreaterThan(1000);
    expect(rms(streamed[8])).toBe(0);
    const converted = await played(rate441);
    expect(converted).toHaveLength(10);
    expect(rms(converted[8])).toBeGreaterThan(1000);
  });

  it('open() reads and checks the file once, before any frame size; stop() releases it unstarted', async () => {
    const path = join(dir, 'open.wav');
    writeFileSync(path, encodeWav(signals.tone(440, 100)));
    const timers = new ManualTimers();
    const source = new WavFileSource(path, false, { timers });
    expect(source.isOpen).toBe(false);
    await Promise.all([source.open(), source.open()]);
    expect(source.isOpen).toBe(true);
    // The file can go: the source holds it open from open().
    rmSync(path);
    const { frames } = await run(source, timers, 480);
    timers.advance(100);
    expect(frames).toHaveLength(10);
    await source.stop();
    expect(source.isOpen).toBe(false);
    await expect(source.open()).rejects.toMatchObject({ code: 'input_device' });
    await source.stop();
  });

  it('rejects start for a missing file with an input_device error naming it', async () => {
    const path = join(dir, 'nope.wav');
    const err = await createSource(path).start(960, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AudioError);
    expect(err).toMatchObject({ code: 'input_device', message: `cannot read WAV file ${path}: no such file (ENOENT)` });
  });
});

describe('factories', () => {
  it('make the sinks by spec and reject unknown specs', () => {
    expect(createSink('null')).toBeInstanceOf(NullSink);
    expect(createSink(join(dir, 'x.WAV'))).toBeInstanceOf(WavFileSink);
    expect(() => createSink('headphones')).toThrow(/unknown audio sink "headphones"/);
    expect(() => createSource('radio')).toThrow(/unknown audio source "radio"/);
  });

  it('an unknown spec is a bad_spec AudioError, thrown before anything is opened', () => {
    const thrown = (make: () => unknown) => {
      try {
        make();
      } catch (err) {
        return err;
      }
      return undefined;
    };
    for (const [make, message] of [
      [() => createSource('foo.mp3'), /^unknown audio source "foo\.mp3" \(expected tone, tone:FREQ, silence, mic, mic:pulse, mic:arecord, mic:sox, mic:\[BACKEND:\]NAME or a \.wav path\)$/],
      [() => createSink('out.mp3'), /^unknown audio sink "out\.mp3"/],
      [() => createSource('tone:'), /^bad tone frequency in "tone:"$/],
      [() => createSource('tone:0'), /^tone frequency out of range/],
    ] as const) {
      const err = thrown(make);
      expect(err).toBeInstanceOf(AudioError);
      expect(err).toMatchObject({ code: 'bad_spec', message: expect.stringMatching(message) });
    }
  });

  it('a null sink counts what it is given', async () => {
    const sink = new NullSink();
    await sink.open();
    sink.write(new Int16Array(960));
    sink.write(new Int16Array(960));
    await sink.close();
    expect(sink.frames).toBe(2);
    expect(sink.samples).toBe(1920);
  });
});
