import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createSource, createSink, encodeWav, signals, FrameClock, NullSink, WavFileSink, type AudioSource, type Frame } from '../../src/audio';
import { SampleFifo } from '../../src/audio/sources/sample-fifo';
import { concatFrames, dominantFrequency, rms } from '../helpers/audio';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'parley-src-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a source for `ms` and returns its frames with their arrival times. */
async function collect(source: AudioSource, samples: number, ms: number) {
  const frames: Frame[] = [];
  const times: number[] = [];
  await source.start(samples, (f) => {
    frames.push(f);
    times.push(performance.now());
  });
  await new Promise((r) => setTimeout(r, ms));
  await source.stop();
  return { frames, times };
}

describe('FrameClock', () => {
  it('keeps its long-run rate however late the timers fire', async () => {
    let ticks = 0;
    const clock = new FrameClock(10, () => {
      ticks++;
      // Burn 3 ms in every tick: a clock that adds delays would slip to ~77 ticks a second.
      const until = performance.now() + 3;
      while (performance.now() < until);
    });
    const t0 = performance.now();
    clock.start();
    await new Promise((r) => setTimeout(r, 1000));
    clock.stop();
    const expected = (performance.now() - t0) / 10;
    expect(Math.abs(ticks - expected)).toBeLessThanOrEqual(3);
    expect(clock.count).toBe(ticks);
  });
});

describe('FrameClock without catch-up', () => {
  it('skips the ticks a stall missed instead of bursting them', async () => {
    const at: number[] = [];
    const clock = new FrameClock(10, () => at.push(performance.now()), { catchUp: false });
    clock.start();
    await new Promise((r) => setTimeout(r, 50));
    const until = performance.now() + 100;
    while (performance.now() < until);
    await new Promise((r) => setTimeout(r, 50));
    clock.stop();
    const burst = at.filter((t) => t >= until && t < until + 2).length;
    expect(burst).toBeLessThanOrEqual(1);
    expect(clock.skipped).toBeGreaterThanOrEqual(8);
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

describe('tone and silence sources', () => {
  it('deliver about 50 frames a second of 20 ms, paced in real time', async () => {
    const source = createSource('tone:1000');
    expect(source.description).toBe('tone 1000 Hz');
    const t0 = performance.now();
    const { frames, times } = await collect(source, 960, 1000);
    const elapsed = times[times.length - 1] - t0;
    // The first frame is due at once, frame k at k·20 ms.
    expect(frames.length).toBeGreaterThanOrEqual(45);
    expect(frames.length).toBeLessThanOrEqual(53);
    expect(Math.abs(elapsed - (frames.length - 1) * 20)).toBeLessThan(40);
    const audio = concatFrames(frames);
    expect(Math.abs(dominantFrequency(audio, 48000, 500, 1500, 2) - 1000)).toBeLessThanOrEqual(2);
    // Phase carries across frames: no click at the boundaries.
    for (let i = 960; i < audio.length; i += 960) expect(Math.abs(audio[i] - audio[i - 1])).toBeLessThan(1500);
  });

  it('silence is silent', async () => {
    const { frames } = await collect(createSource('silence'), 480, 100);
    expect(frames.length).toBeGreaterThan(3);
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
});

describe('WAV file source', () => {
  it('plays a file once at real-time pace, then ends', async () => {
    const path = join(dir, 'clip.wav');
    // 300 ms at 44.1 kHz: 300 ms → 14400 samples at 48 kHz → 15 frames, the last one padded.
    const clip = signals.tone(660, 300, 0.5, 44100);
    writeFileSync(path, encodeWav(clip, 44100));
    const source = createSource(path);
    const frames: Frame[] = [];
    const t0 = performance.now();
    const ended = new Promise<number>((resolve) => source.on('end', () => resolve(performance.now())));
    await source.start(960, (f) => frames.push(f));
    const t1 = await ended;
    expect(frames.length).toBe(15);
    expect(t1 - t0).toBeGreaterThan(250);
    expect(Math.abs(dominantFrequency(concatFrames(frames), 48000, 300, 1000, 2) - 660)).toBeLessThanOrEqual(2);
    await source.stop();
  });

  it('loops when asked', async () => {
    const path = join(dir, 'short.wav');
    writeFileSync(path, encodeWav(signals.tone(440, 50)));
    const source = createSource(path, { loop: true });
    let ended = false;
    source.on('end', () => (ended = true));
    const { frames } = await collect(source, 960, 300);
    expect(frames.length).toBeGreaterThan(10);
    expect(ended).toBe(false);
    expect(rms(frames[frames.length - 1])).toBeGreaterThan(1000);
  });

  it('rejects start for a missing file', async () => {
    await expect(createSource(join(dir, 'nope.wav')).start(960, () => {})).rejects.toThrow(/cannot read WAV file/);
  });
});

describe('factories', () => {
  it('make the sinks by spec and reject unknown specs', () => {
    expect(createSink('null')).toBeInstanceOf(NullSink);
    expect(createSink(join(dir, 'x.WAV'))).toBeInstanceOf(WavFileSink);
    expect(() => createSink('headphones')).toThrow(/unknown audio sink "headphones"/);
    expect(() => createSource('radio')).toThrow(/unknown audio source "radio"/);
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
