/**
 * Comfort noise: the RFC 3389 payload, the sender's analysis of the background and the
 * receiver's synthesis, and the jitter buffer and playout treating a silence the sender announced
 * as comfort noise, not as lost frames.
 */
import { seededRandom, speechLike } from '../../src/audio/signals';
import { NoiseAnalyzer, NoiseSynth } from '../../src/media/comfort-noise';
import { JitterBuffer } from '../../src/media/jitter-buffer';
import { Playout } from '../../src/media/playout';
import { CN_MAX_PAYLOAD_BYTES, CN_SILENCE_LEVEL, decodeComfortNoise, encodeComfortNoise, type ComfortNoise } from '../../src/protocol/comfort-noise';
import { rms } from '../helpers/audio';

const F = 20;
const N = 960;

describe('the CN payload', () => {
  test('round-trips a level and up to ten reflection coefficients, within quantization', () => {
    const cn = { level: 57, reflection: [0.9, -0.5, 0.25, 0, -0.99, 0.1, 0.2, -0.3, 0.4, -0.6] };
    const buf = encodeComfortNoise(cn);
    expect(buf.length).toBe(11);
    const back = decodeComfortNoise(buf)!;
    expect(back.level).toBe(57);
    back.reflection.forEach((k, i) => expect(Math.abs(k - cn.reflection[i])).toBeLessThanOrEqual(1 / 127));
    expect(decodeComfortNoise(Buffer.from([127]))).toEqual({ level: 127, reflection: [] });
  });

  test('is strictly bounded: empty, oversize, a reserved bit set or a coefficient byte of 255 are refused', () => {
    expect(decodeComfortNoise(Buffer.alloc(0))).toBeNull();
    expect(decodeComfortNoise(Buffer.alloc(CN_MAX_PAYLOAD_BYTES + 1, 100))).toBeNull();
    expect(decodeComfortNoise(Buffer.from([0x80 | 40]))).toBeNull();
    expect(decodeComfortNoise(Buffer.from([40, 12, 255]))).toBeNull();
    expect(decodeComfortNoise(Buffer.alloc(CN_MAX_PAYLOAD_BYTES, 100))).not.toBeNull();
  });

  test('encoding clamps what it cannot say: more than ten coefficients, levels out of range, |k| > 1', () => {
    const buf = encodeComfortNoise({ level: 300, reflection: new Array(20).fill(5) });
    expect(buf.length).toBe(CN_MAX_PAYLOAD_BYTES);
    expect(decodeComfortNoise(buf)).toEqual({ level: 127, reflection: new Array(10).fill(1) });
  });
});

/** White noise through a one-pole low-pass: a background with a shape. */
function lowNoise(seed: number, samples: number, amplitude: number): Int16Array {
  const rnd = seededRandom(seed);
  const out = new Int16Array(samples);
  let y = 0;
  for (let i = 0; i < samples; i++) {
    y = 0.9 * y + (rnd() * 2 - 1) * amplitude;
    out[i] = Math.round(y);
  }
  return out;
}

/** Share of a signal's energy in its first difference: high for bright noise, low for dull. */
function brightness(x: Int16Array): number {
  let d = 0;
  let e = 0;
  for (let i = 1; i < x.length; i++) {
    d += (x[i] - x[i - 1]) ** 2;
    e += x[i] * x[i];
  }
  return d / e;
}

describe('analysis and synthesis', () => {
  test("the receiver's noise has the level and the spectral shape of the sender's background", () => {
    const bg = lowNoise(1, 50 * N, 60);
    const analyzer = new NoiseAnalyzer();
    analyzer.begin(bg.subarray(0, N));
    for (let k = 1; k < 50; k++) analyzer.add(bg.subarray(k * N, (k + 1) * N));
    const cn = decodeComfortNoise(encodeComfortNoise(analyzer.current()))!;
    const bgDb = 20 * Math.log10(rms(bg) / 32767);
    expect(Math.abs(-cn.level - bgDb)).toBeLessThanOrEqual(1);
    expect(cn.reflection.length).toBe(10);

    const synth = new NoiseSynth(9);
    synth.restart();
    synth.set(cn);
    const frames = Array.from({ length: 50 }, () => synth.frame(N));
    const out = new Int16Array(49 * N);
    frames.slice(1).forEach((f, i) => out.set(f, i * N));
    expect(Math.abs(20 * Math.log10(rms(out) / 32767) - bgDb)).toBeLessThanOrEqual(1.5);
    // Dull like the background, where white noise would be bright.
    const white = new NoiseSynth(9);
    white.set({ level: cn.level, reflection: [] });
    expect(brightness(out)).toBeLessThan(brightness(bg) * 1.5);
    expect(brightness(out)).toBeLessThan(brightness(white.frame(10 * N)) / 3);
  });

  test('a very quiet level is never digital silence; "silence" is', () => {
    const synth = new NoiseSynth();
    synth.set({ level: 120, reflection: [] });
    const out = synth.frame(10 * N);
    let run = 0;
    let longest = 0;
    for (let i = 480; i < out.length; i++) {
      run = out[i] === 0 ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    expect(longest).toBeLessThan(48);
    const quiet = new NoiseSynth();
    quiet.set({ level: CN_SILENCE_LEVEL, reflection: [] });
    expect(quiet.frame(N).every((x) => x === 0)).toBe(true);
  });

  test('digital silence is analysed as silence', () => {
    const analyzer = new NoiseAnalyzer();
    analyzer.begin(new Int16Array(N));
    expect(analyzer.current()).toEqual({ level: CN_SILENCE_LEVEL, reflection: [] });
  });
});

/** What goes in: frames by index, and CN packets by the index of the first silent frame. */
type Event = { at: number; index: number; kind: 'frame' } | { at: number; index: number; kind: 'cn'; noise: ComfortNoise };

const NOISE: ComfortNoise = { level: 50, reflection: [0.5] };

/** A talkspurt of frames [from, to), each arriving `delay` after its time. */
function spurt(from: number, to: number, delay = 5): Event[] {
  return Array.from({ length: to - from }, (_, i) => ({ at: (from + i) * F + delay, index: from + i, kind: 'frame' as const }));
}

/** CN at `from`, then updates every `every` frames until `to`. */
function silence(from: number, to: number, every = 20, delay = 5): Event[] {
  const out: Event[] = [];
  for (let i = from; i < to; i += every) out.push({ at: i * F + delay, index: i, kind: 'cn', noise: NOISE });
  return out;
}

function run(events: Event[], ticks: number) {
  const signal = speechLike(5, (ticks + 200) * F, 0.4);
  const jb = new JitterBuffer<number>({ frameMs: F });
  let concealments = 0;
  const decoded: number[] = [];
  const playout = new Playout(
    jb,
    {
      decode: (i: number) => {
        decoded.push(i);
        return signal.slice(i * N, (i + 1) * N);
      },
      conceal: () => {
        concealments++;
        return new Int16Array(N);
      },
    },
    F,
    () => undefined,
  );
  const queue = [...events].sort((a, b) => a.at - b.at);
  const start = queue[0].at + jb.initialDelayMs();
  const out: Int16Array[] = [];
  const kinds: boolean[] = [];
  let q = 0;
  for (let k = 0; k < ticks; k++) {
    const now = start + k * F;
    for (; q < queue.length && queue[q].at <= now; q++) {
      const e = queue[q];
      if (e.kind === 'frame') jb.push(e.index, e.index, 'primary', e.at);
      else jb.comfort(e.index, e.noise, e.at);
    }
    out.push(playout.tick(now));
    kinds.push(jb.inComfort);
  }
  return { jb, out, decoded, concealments, kinds, stats: { ...jb.stats(), ...playout.stats() } };
}

describe('the jitter buffer and playout in a silence the sender announced', () => {
  test('the gap after a CN packet is comfort noise: nothing concealed, inserted or late, every frame of speech played', () => {
    const r = run([...spurt(0, 50), ...silence(50, 150), ...spurt(150, 200)], 198);
    expect(r.concealments).toBe(0);
    expect(r.stats).toMatchObject({ concealed: 0, late: 0, concealedMs: 0, insertedMs: 0 });
    expect(r.stats.comfort).toBe(100);
    expect(r.stats.comfortNoiseMs).toBe(100 * F);
    expect(r.decoded).toEqual([...Array.from({ length: 50 }, (_, i) => i), ...Array.from({ length: 48 }, (_, i) => 150 + i)]);
    // Comfort noise in the gap, never digital silence (after its fade-in).
    const gap = r.out.slice(52, 148);
    expect(gap.every((f) => rms(f) > 10)).toBe(true);
  });

  test('speech that resumes later than the comfort noise has played picks its delay again: not late, not concealed', () => {
    // The resumed talkspurt is 60 ms late in coming (a slower path after the silence).
    const r = run([...spurt(0, 50), ...silence(50, 150), ...spurt(150, 250, 65)], 240);
    expect(r.concealments).toBe(0);
    expect(r.stats.late).toBe(0);
    expect(r.decoded.slice(50, 60)).toEqual([150, 151, 152, 153, 154, 155, 156, 157, 158, 159]);
  });

  test('a stream that starts with comfort noise (a muted sender), kept alive once a second, plays it until speech comes', () => {
    const r = run([...silence(0, 300, 50), ...spurt(300, 350)], 340);
    expect(r.concealments).toBe(0);
    expect(r.stats.comfort).toBe(300);
    expect(r.decoded[0]).toBe(300);
    expect(r.kinds[100]).toBe(true);
    expect(r.kinds[320]).toBe(false);
  });

  test('without CN, a gap is what it always was: waited for, then concealed', () => {
    const r = run([...spurt(0, 50), ...spurt(70, 120)], 110);
    expect(r.stats.comfort).toBe(0);
    expect(r.concealments).toBeGreaterThan(0);
  });

  test('a CN packet that comes after the speech following it changes nothing', () => {
    const events: Event[] = [...spurt(0, 100), { at: 80 * F, index: 40, kind: 'cn', noise: NOISE }];
    const r = run(events, 95);
    expect(r.stats.comfort).toBe(0);
    expect(r.concealments).toBe(0);
  });
});

test('the synthesis holds its level over a long silence', () => {
  const synth = new NoiseSynth();
  synth.set({ level: 40, reflection: [0.9, -0.5] });
  let sum = 0;
  for (let k = 0; k < 500; k++) sum += rms(synth.frame(N));
  const mean = sum / 500;
  expect(Math.abs(20 * Math.log10(mean / 32767) + 40)).toBeLessThan(1.5);
});
