/**
 * Signals and measures for the engine tests: a synthetic echo path, fan-like noise, frame-wise
 * runs through an engine, and energies over chosen frames. Everything is seeded.
 */
import { seededRandom, msToSamples } from '../../../src/audio/signals';
import { ENGINE_SAMPLES, type VoiceEngine } from '../../../src/audio/processing/engine';

export const FRAME = ENGINE_SAMPLES;

/** A short room-like impulse response: a direct tap and a decaying random tail (`ms` long), unit energy. */
export function impulseResponse(seed: number, ms = 15): Float64Array {
  const rnd = seededRandom(seed);
  const n = msToSamples(ms);
  const h = new Float64Array(n);
  h[0] = 1;
  for (let i = 1; i < n; i++) h[i] = 0.5 * (2 * rnd() - 1) * Math.exp(-i / (n / 5));
  let e = 0;
  for (const v of h) e += v * v;
  const s = 1 / Math.sqrt(e);
  for (let i = 0; i < n; i++) h[i] *= s;
  return h;
}

/**
 * What the microphone hears of `far`: convolved with `ir`, attenuated by `lossDb`, delayed by
 * `delayMs`, which may change: `delays` lists [fromSample, delayMs] steps.
 */
export function echoOf(far: Int16Array, ir: Float64Array, lossDb: number, delays: Array<[number, number]>): Float64Array {
  const g = 10 ** (-lossDb / 20);
  const conv = new Float64Array(far.length);
  for (let i = 0; i < far.length; i++) {
    let acc = 0;
    const m = Math.min(ir.length, i + 1);
    for (let k = 0; k < m; k++) acc += ir[k] * far[i - k];
    conv[i] = acc * g;
  }
  const out = new Float64Array(far.length);
  let step = 0;
  for (let i = 0; i < far.length; i++) {
    while (step + 1 < delays.length && delays[step + 1][0] <= i) step++;
    const d = msToSamples(delays[step][1]);
    out[i] = i >= d ? conv[i - d] : 0;
  }
  return out;
}

/** Stationary fan-like noise: low-passed white noise plus hum tones, at `rmsDbfs`. */
export function fanNoise(seed: number, samples: number, rmsDbfs: number): Float64Array {
  const rnd = seededRandom(seed);
  const out = new Float64Array(samples);
  let y1 = 0;
  let y2 = 0;
  for (let i = 0; i < samples; i++) {
    const w = 2 * rnd() - 1;
    y1 += 0.08 * (w - y1); // two one-pole low-passes, ~600 Hz
    y2 += 0.08 * (y1 - y2);
    const t = i / 48000;
    out[i] = y2 + 0.02 * Math.sin(2 * Math.PI * 120 * t) + 0.012 * Math.sin(2 * Math.PI * 240 * t + 1) + 0.008 * Math.sin(2 * Math.PI * 360 * t + 2);
  }
  return scaleTo(out, rmsDbfs);
}

export function rmsDbfs(x: ArrayLike<number>, from = 0, to = x.length): number {
  let e = 0;
  for (let i = from; i < to; i++) e += x[i] * x[i];
  return 10 * Math.log10(e / Math.max(1, to - from) / (32768 * 32768) + 1e-20);
}

export function scaleTo(x: Float64Array, targetDbfs: number): Float64Array {
  const g = 10 ** ((targetDbfs - rmsDbfs(x)) / 20);
  return x.map((v) => v * g);
}

export function toFloat(x: Int16Array): Float64Array {
  return Float64Array.from(x);
}

export function mix(...xs: ArrayLike<number>[]): Float64Array {
  const n = Math.min(...xs.map((x) => x.length));
  const out = new Float64Array(n);
  for (const x of xs) for (let i = 0; i < n; i++) out[i] += x[i];
  return out;
}

export function toInt16(x: ArrayLike<number>): Int16Array {
  const out = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(x[i])));
  return out;
}

/** Per-frame energy (sum of squares), one entry per FRAME. */
export function frameEnergies(x: ArrayLike<number>): Float64Array {
  const n = Math.floor(x.length / FRAME);
  const out = new Float64Array(n);
  for (let f = 0; f < n; f++) {
    let e = 0;
    for (let i = f * FRAME; i < (f + 1) * FRAME; i++) e += x[i] * x[i];
    out[f] = e;
  }
  return out;
}

/** 10·log10(Σ a / Σ b) over the frames `pick` chooses. */
export function ratioDb(a: Float64Array, b: Float64Array, pick: (f: number) => boolean): number {
  let ea = 0;
  let eb = 0;
  for (let f = 0; f < Math.min(a.length, b.length); f++) {
    if (!pick(f)) continue;
    ea += a[f];
    eb += b[f];
  }
  return 10 * Math.log10((ea + 1e-9) / (eb + 1e-9));
}

/** Frames where a signal is active: within `belowPeakDb` of its loudest frame. */
export function activeFrames(x: ArrayLike<number>, belowPeakDb = 30): boolean[] {
  const e = frameEnergies(x);
  const peak = Math.max(...e);
  const floor = peak * 10 ** (-belowPeakDb / 10);
  return Array.from(e, (v) => v > floor);
}

export interface RunResult {
  out: Int16Array;
  voice: Array<boolean | null>;
}

/**
 * Frame by frame: the far frame goes to playback, then the mic frame to capture (as the
 * pipeline does when the speaker and microphone clocks run together).
 */
export function run(engine: VoiceEngine, far: Int16Array | null, mic: Int16Array, delayMs: number | ((frame: number) => number) = 0): RunResult {
  const frames = Math.floor(mic.length / FRAME);
  const out = new Int16Array(frames * FRAME);
  const voice: Array<boolean | null> = [];
  for (let f = 0; f < frames; f++) {
    if (far) engine.playback(far.slice(f * FRAME, (f + 1) * FRAME));
    const frame = mic.slice(f * FRAME, (f + 1) * FRAME);
    voice.push(engine.capture(frame, typeof delayMs === 'function' ? delayMs(f) : delayMs));
    out.set(frame, f * FRAME);
  }
  return { out, voice };
}
