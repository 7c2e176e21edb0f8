import { SAMPLE_RATE, type Frame } from '../../audio/types';

/** Just under full scale: a limited peak never sits on the rails, where a clipped one would. */
const DEFAULT_CEILING = 32000;

export interface MixerOptions {
  samples: number;
  /** The loudest sample the output may hold (default 32000, a fifth of a dB below full scale). */
  ceiling?: number;
  /** How long before a peak the gain starts to fall, at most (default 1 ms). */
  attackMs?: number;
  /** Time constant of the gain's recovery after a peak (default 60 ms: back to unity within about 300 ms). */
  releaseMs?: number;
}

/**
 * Sums several streams' frames into one. The sum runs in floating point, so it cannot wrap; a
 * peak limiter then keeps it within the ceiling: the gain is never above what a sample needs
 * (no overshoot, ever: nothing clips), falls over a millisecond before a peak and recovers
 * smoothly after it (release), so a loud moment ducks the mix briefly instead of distorting it. While the sum stays below the
 * ceiling the gain is exactly 1: one stream, or quiet ones, pass through unchanged.
 */
export class Mixer {
  private readonly sum: Float64Array;
  private readonly gains: Float64Array;
  private readonly attackStep: number;
  private readonly ceiling: number;
  /** Per-sample step of the release toward unity gain. */
  private readonly release: number;
  private gain = 1;

  constructor(private readonly opts: MixerOptions) {
    this.sum = new Float64Array(opts.samples);
    this.gains = new Float64Array(opts.samples);
    this.ceiling = opts.ceiling ?? DEFAULT_CEILING;
    this.attackStep = 1000 / ((opts.attackMs ?? 1) * SAMPLE_RATE);
    this.release = 1 - Math.exp(-1000 / ((opts.releaseMs ?? 60) * SAMPLE_RATE));
  }

  /** The current limiter gain (1 when nothing is being held down). */
  get currentGain(): number {
    return this.gain;
  }

  /** One frame: the sum of `frames` (each `samples` long), limited. A new array each call. */
  mix(frames: readonly Frame[]): Frame {
    const n = this.opts.samples;
    const out = new Int16Array(n);
    if (frames.length === 0) return this.idle(out);
    if (frames.length === 1 && this.gain === 1 && peakOf(frames[0]) <= this.ceiling) {
      out.set(frames[0]);
      return out;
    }
    const sum = this.sum;
    const gains = this.gains;
    sum.fill(0);
    for (const f of frames) for (let i = 0; i < n; i++) sum[i] += f[i];
    const ceiling = this.ceiling;
    // Forward: the gain each sample needs, recovering from the last one at the release rate.
    let g = this.gain;
    for (let i = 0; i < n; i++) {
      if (g < 1) g += (1 - g) * this.release;
      const a = Math.abs(sum[i]);
      if (a * g > ceiling) g = ceiling / a;
      gains[i] = g;
    }
    // Backward: the gain falls over the attack span before a peak rather than at it, so the
    // waveform keeps its shape (the frame is all here: a look-ahead costs no latency). Only
    // a peak at a frame's very start is met by an instant drop.
    for (let i = n - 2; i >= 0; i--) if (gains[i] > gains[i + 1] + this.attackStep) gains[i] = gains[i + 1] + this.attackStep;
    for (let i = 0; i < n; i++) {
      // Rounding can land one step beyond the ceiling; the clamp keeps it there.
      const y = Math.round(sum[i] * gains[i]);
      out[i] = y > ceiling ? ceiling : y < -ceiling ? -ceiling : y;
    }
    // Within a hair of unity is unity: the pass-through above stays exact.
    this.gain = g > 0.999 ? 1 : g;
    return out;
  }

  /** Silence, while the gain recovers as it would have over a silent frame. */
  private idle(out: Frame): Frame {
    this.gain = 1 - (1 - this.gain) * Math.pow(1 - this.release, this.opts.samples);
    if (this.gain > 0.999) this.gain = 1;
    return out;
  }
}

function peakOf(f: Frame): number {
  let p = 0;
  for (let i = 0; i < f.length; i++) {
    const a = f[i] < 0 ? -f[i] : f[i];
    if (a > p) p = a;
  }
  return p;
}
