import { seededRandom } from '../audio/signals';
import type { Frame } from '../audio/types';
import { CN_MAX_COEFFICIENTS, CN_SILENCE_LEVEL, levelByteOf, type ComfortNoise } from '../protocol/comfort-noise';

/** The quietest comfort noise made for a level above silence: under it, rounding would leave mostly zeros. */
const MIN_NOISE_RMS = 1.5;
/** Reflection coefficients are kept inside this bound when synthesizing: quantized ones near ±1 could ring. */
const MAX_REFLECTION = 0.97;
/** How much of each new frame's statistics goes into the running estimate. */
const SMOOTHING = 0.25;

/**
 * The sender's view of the background while it stays silent: its level and spectral shape, as
 * an order-`order` all-pole model (autocorrelation, Levinson–Durbin) smoothed over the silent
 * frames. `begin` starts afresh (silence after speech: speech must not colour the noise), `add`
 * goes on. Nothing is allocated per frame; `current` allocates the payload's coefficients.
 */
export class NoiseAnalyzer {
  private readonly r: Float64Array;
  private readonly frameR: Float64Array;
  private readonly a: Float64Array;
  private readonly tmp: Float64Array;
  private readonly k: Float64Array;
  private fresh = true;

  constructor(private readonly order = CN_MAX_COEFFICIENTS) {
    this.r = new Float64Array(order + 1);
    this.frameR = new Float64Array(order + 1);
    this.a = new Float64Array(order + 1);
    this.tmp = new Float64Array(order + 1);
    this.k = new Float64Array(order);
  }

  begin(frame: Frame): void {
    this.fresh = true;
    this.add(frame);
  }

  add(frame: Frame): void {
    const n = frame.length;
    if (n === 0) return;
    const fr = this.frameR;
    for (let lag = 0; lag <= this.order; lag++) {
      let s = 0;
      for (let i = lag; i < n; i++) s += frame[i] * frame[i - lag];
      fr[lag] = s / n;
    }
    const w = this.fresh ? 1 : SMOOTHING;
    for (let lag = 0; lag <= this.order; lag++) this.r[lag] += (fr[lag] - this.r[lag]) * w;
    this.fresh = false;
  }

  /** The background's level now, dBFS RMS (−Infinity for digital silence). */
  get levelDb(): number {
    return this.r[0] > 0 ? 10 * Math.log10(this.r[0] / (32767 * 32767)) : -Infinity;
  }

  /** What a CN packet says of the background now. */
  current(): ComfortNoise {
    const level = levelByteOf(this.levelDb);
    if (level >= CN_SILENCE_LEVEL) return { level: CN_SILENCE_LEVEL, reflection: [] };
    const p = levinson(this.r, this.order, this.a, this.tmp, this.k);
    return { level, reflection: Array.from(this.k.subarray(0, p)) };
  }
}

/**
 * Levinson–Durbin on the autocorrelation `r` (a slight white-noise correction keeps it well
 * conditioned): fills the reflection coefficients `k` and the predictor `a` (A(z) = 1 + Σ a_j z^−j),
 * and returns how many coefficients it could find (fewer when the recursion would go unstable).
 */
export function levinson(r: Float64Array, order: number, a: Float64Array, tmp: Float64Array, k: Float64Array): number {
  a.fill(0);
  a[0] = 1;
  let err = r[0] * 1.0001 + 1e-9;
  for (let i = 1; i <= order; i++) {
    let acc = r[i];
    for (let j = 1; j < i; j++) acc += a[j] * r[i - j];
    const ki = -acc / err;
    if (!(Math.abs(ki) < 1)) return i - 1;
    k[i - 1] = ki;
    tmp.set(a);
    for (let j = 1; j < i; j++) a[j] = tmp[j] + ki * tmp[i - j];
    a[i] = ki;
    err *= 1 - ki * ki;
  }
  return order;
}

/**
 * The receiver's comfort noise: seeded white noise through the all-pole filter 1/A(z) the
 * sender's reflection coefficients describe, scaled so its RMS is the level the sender gave.
 * The gain glides to a new level (and up from half of it when comfort noise begins) over a few
 * milliseconds, so neither a start nor an update clicks. A level above silence never comes out
 * as digital silence.
 */
export class NoiseSynth {
  private readonly random: () => number;
  private readonly a = new Float64Array(CN_MAX_COEFFICIENTS + 1);
  private readonly tmp = new Float64Array(CN_MAX_COEFFICIENTS + 1);
  private readonly history = new Float64Array(CN_MAX_COEFFICIENTS);
  private order = 0;
  /** The excitation's gain now; negative until the first frame after `restart`. */
  private gain = 0;
  private targetGain = 0;
  private current: ComfortNoise | null = null;
  /** Per-sample step of the gain toward its target (about a 5 ms time constant). */
  private readonly glide = 1 - Math.exp(-1 / (0.005 * 48000));

  constructor(seed = 0x5eed) {
    this.random = seededRandom(seed);
  }

  /**
   * Comfort noise starts here (after speech or nothing): a clean filter, and the gain from half
   * the level (the last frames sent were already this background: no dip to nothing between).
   */
  restart(): void {
    this.gain = -1;
    this.history.fill(0);
  }

  set(cn: ComfortNoise): void {
    if (cn === this.current) return;
    this.current = cn;
    const n = Math.min(CN_MAX_COEFFICIENTS, cn.reflection.length);
    // Step-up: reflection coefficients to the direct-form predictor.
    const a = this.a;
    a.fill(0);
    a[0] = 1;
    let power = 1;
    for (let i = 1; i <= n; i++) {
      const k = Math.max(-MAX_REFLECTION, Math.min(MAX_REFLECTION, cn.reflection[i - 1]));
      this.tmp.set(a);
      for (let j = 1; j < i; j++) a[j] = this.tmp[j] + k * this.tmp[i - j];
      a[i] = k;
      power *= 1 - k * k;
    }
    this.order = n;
    if (cn.level >= CN_SILENCE_LEVEL) {
      this.targetGain = 0;
      return;
    }
    const rms = Math.max(MIN_NOISE_RMS, 32767 * Math.pow(10, -cn.level / 20));
    // The filter multiplies the excitation's power by 1/Π(1 − k²).
    this.targetGain = rms * Math.sqrt(power);
  }

  /** A frame of comfort noise, `samples` long. */
  frame(samples: number): Frame {
    const out = new Int16Array(samples);
    const a = this.a;
    const h = this.history;
    const p = this.order;
    if (this.gain < 0) this.gain = 0.5 * this.targetGain;
    for (let i = 0; i < samples; i++) {
      this.gain += (this.targetGain - this.gain) * this.glide;
      // Uniform on (−√3, √3): unit variance.
      let y = (this.random() * 2 - 1) * 1.7320508 * this.gain;
      for (let j = 0; j < p; j++) y -= a[j + 1] * h[j];
      for (let j = p - 1; j > 0; j--) h[j] = h[j - 1];
      if (p > 0) h[0] = y;
      let s = Math.round(y);
      if (s === 0 && this.targetGain > 0 && this.gain > 0.5 * this.targetGain) s = y < 0 ? -1 : 1;
      out[i] = s > 32767 ? 32767 : s < -32768 ? -32768 : s;
    }
    return out;
  }
}
