/**
 * Synthetic scenes for the voice-processing tests: an echo path (a short decaying impulse
 * response, a bulk delay, an attenuation), fan-like noise, and per-10 ms energies. Seeded.
 */
import { ENGINE_SAMPLES, type VoiceEngine } from '../../../src/audio/processing/engine';
import { msToSamples, seededRandom } from '../../../src/audio/signals';

export const FRAME = ENGINE_SAMPLES;

/** A room-like echo path: ~6 ms of decaying random taps, normalised to unit energy. */
export function impulseResponse(seed: number): Float64Array {
  const rnd = seededRandom(seed);
  const h = new Float64Array(msToSamples(6));
  let e = 0;
  for (let k = 0; k < h.length; k++) {
    h[k] = (k === 0 ? 1 : (2 * rnd() - 1) * 0.7) * Math.exp(-k / 60);
    e += h[k] * h[k];
  }
  for (let k = 0; k < h.length; k++) h[k] /= Math.sqrt(e);
  return h;
}

/** What the microphone hears of `far`: through h, `delayMs(sample)` later, `lossDb` down. */
export function echoOf(far: Int16Array, h: Float64Array, delayMs: (i: number) => number, lossDb: number): Float64Array {
  const g = 10 ** (-lossDb / 20);
  const out = new Float64Array(far.length);
  for (let i = 0; i < far.length; i++) {
    const d = msToSamples(delayMs(i));
    let v = 0;
    for (let k = 0; k < h.length; k++) {
      const j = i - d - k;
      if (j >= 0) v += h[k] * far[j];
    }
    out[i] = g * v;
  }
  return out;
}

/** Stationary fan-like noise: low-passed white noise plus 100 and 150 Hz hum, RMS 1. */
export function fanNoise(seed: number, n: number): Float64Array {
  const rnd = seededRandom(seed);
  const out = new Float64Array(n);
  let lp1 = 0;
  let lp2 = 0;
  for (let i = 0; i < n; i++) {
    lp1 += 0.08 * (2 * rnd() - 1 - lp1);
    lp2 += 0.08 * (lp1 - lp2);
    out[i] = lp2 * 12 + 0.05 * Math.sin((2 * Math.PI * 100 * i) / 48000) + 0.03 * Math.sin((2 * Math.PI * 150 * i) / 48000);
  }
  return scale(out, 1 / rms(out));
}

export function rms(x: ArrayLike<number>, from = 0, to = x.length): number {
  let e = 0;
  for (let i = from; i < to; i++) e += x[i] * x[i];
  return Math.sqrt(e / Math.max(1, to - from));
}

export function scale(x: ArrayLike<number>, g: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * g;
  return out;
}

export function mix(...parts: ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(parts[0].length);
  for (const p of parts) for (let i = 0; i < out.length; i++) out[i] += p[i];
  return out;
}

export const dbfs = (r: number): number => 20 * Math.log10(Math.max(r, 1e-9) / 32768);

/** Energy of each 10 ms frame. */
export function frameEnergies(x: ArrayLike<number>): Float64Array {
  const n = Math.floor(x.length / FRAME);
  const out = new Float64Array(n);
  for (let f = 0; f < n; f++) for (let i = f * FRAME; i < (f + 1) * FRAME; i++) out[f] += x[i] * x[i];
  return out;
}

/** 10·log10 of a's energy over b's, over the frames `pick` keeps. */
export function ratioDb(a: Float64Array, b: Float64Array, pick: (f: number) => boolean): number {
  let ea = 0;
  let eb = 0;
  for (let f = 0; f < a.length; f++) if (pick(f)) (ea += a[f]), (eb += b[f]);
  return 10 * Math.log10(Math.max(ea, 1e-9) / Math.max(eb, 1e-9));
}

/**
 * Runs a scene 10 ms at a time: far (if any) to playback, then mic (saturated to 16 bits) to
 * capture with `delayMs`. Returns the output and the VAD verdicts.
 */
export function run(engine: VoiceEngine, mic: ArrayLike<number>, far?: Int16Array, delayMs = 0): { out: Int16Array; vad: (boolean | null)[] } {
  const frames = Math.floor(mic.length / FRAME);
  const out = new Int16Array(frames * FRAME);
  const vad: (boolean | null)[] = [];
  const frame = new Int16Array(FRAME);
  for (let f = 0; f < frames; f++) {
    if (far) engine.playback(far.subarray(f * FRAME, (f + 1) * FRAME));
    for (let i = 0; i < FRAME; i++) frame[i] = Math.max(-32768, Math.min(32767, Math.round(mic[f * FRAME + i])));
    vad.push(engine.capture(frame, delayMs));
    out.set(frame, f * FRAME);
  }
  return { out, vad };
}
