/**
 * Deterministic test and demo signals at 48 kHz, 16-bit. Everything random takes a seed, so a
 * test that fails fails the same way every time.
 */
import { SAMPLE_RATE } from './types';
import { toInt16 } from './resample';

/** mulberry32: a small, fast, seedable PRNG returning [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function msToSamples(ms: number, rate = SAMPLE_RATE): number {
  return Math.round((ms * rate) / 1000);
}

/** A sine of `freq` Hz; amplitude is a fraction of full scale. */
export function tone(freq: number, ms: number, amplitude = 0.5, rate = SAMPLE_RATE): Int16Array {
  const n = msToSamples(ms, rate);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amplitude * 32767 * Math.sin((2 * Math.PI * freq * i) / rate);
  return toInt16(out);
}

/** A linear sweep from f0 to f1 Hz. */
export function chirp(f0: number, f1: number, ms: number, amplitude = 0.5, rate = SAMPLE_RATE): Int16Array {
  const n = msToSamples(ms, rate);
  const duration = n / rate;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    out[i] = amplitude * 32767 * Math.sin(2 * Math.PI * (f0 * t + ((f1 - f0) * t * t) / (2 * duration)));
  }
  return toInt16(out);
}

/** White-noise bursts of `burstMs`, one every `periodMs`, silence between. */
export function noiseBursts(
  seed: number,
  ms: number,
  opts: { burstMs?: number; periodMs?: number; amplitude?: number } = {},
): Int16Array {
  const { burstMs = 50, periodMs = 200, amplitude = 0.3 } = opts;
  const rnd = seededRandom(seed);
  const n = msToSamples(ms);
  const period = msToSamples(periodMs);
  const burst = msToSamples(burstMs);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = i % period < burst ? amplitude * 32767 * (2 * rnd() - 1) : 0;
  return toInt16(out);
}

/** Short (1 ms) clicks every `periodMs`, starting at `firstMs`. */
export function clicks(ms: number, periodMs: number, firstMs = 0, amplitude = 0.9): Int16Array {
  const n = msToSamples(ms);
  const out = new Float32Array(n);
  const width = msToSamples(1);
  for (let start = msToSamples(firstMs); start < n; start += msToSamples(periodMs)) {
    // A windowed 2 kHz burst survives codecs far better than a single-sample impulse.
    for (let i = 0; i < width && start + i < n; i++) {
      const w = Math.sin((Math.PI * i) / width);
      out[start + i] = amplitude * 32767 * w * Math.sin((2 * Math.PI * 2000 * i) / SAMPLE_RATE);
    }
  }
  return toInt16(out);
}

/**
 * Speech-like: voiced "syllables" of 120–300 ms with a gliding pitch (90–250 Hz) and a few
 * harmonics shaped by two formant-ish peaks, under a smooth envelope, with short pauses.
 */
export function speechLike(seed: number, ms: number, amplitude = 0.5): Int16Array {
  const rnd = seededRandom(seed);
  const n = msToSamples(ms);
  const out = new Float32Array(n);
  let i = 0;
  while (i < n) {
    const len = msToSamples(120 + 180 * rnd());
    const f0a = 90 + 160 * rnd();
    const f0b = f0a * (0.8 + 0.4 * rnd());
    const formant1 = 300 + 600 * rnd();
    const formant2 = 900 + 1500 * rnd();
    let phase = 0;
    for (let j = 0; j < len && i + j < n; j++) {
      const f0 = f0a + ((f0b - f0a) * j) / len;
      phase += (2 * Math.PI * f0) / SAMPLE_RATE;
      let v = 0;
      for (let h = 1; h <= 12; h++) {
        const f = h * f0;
        const gain = Math.exp(-(((f - formant1) / 200) ** 2)) + 0.6 * Math.exp(-(((f - formant2) / 300) ** 2)) + 0.05;
        v += (gain * Math.sin(h * phase)) / h;
      }
      out[i + j] = v * Math.sin((Math.PI * j) / len);
    }
    i += len + msToSamples(30 + 120 * rnd());
  }
  let peak = 0;
  for (const v of out) peak = Math.max(peak, Math.abs(v));
  const scale = peak > 0 ? (amplitude * 32767) / peak : 0;
  for (let k = 0; k < n; k++) out[k] *= scale;
  return toInt16(out);
}
