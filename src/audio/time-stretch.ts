/**
 * Time-scale modification of 48 kHz mono Int16 audio by whole pitch periods (WSOLA-style, as
 * WebRTC NetEq's accelerate / preemptive expand and PJSIP's wsola.c do): a period is found by
 * normalized cross-correlation, then one period is removed or repeated with a cross-fade over
 * that period, so the waveform stays continuous and the pitch unchanged. In silence any length
 * will do, so the amount asked for is taken exactly.
 */
import { msToSamples } from './signals';

export interface TimeStretchOptions {
  /** Shortest and longest period searched, in ms (2.5–20 ms: 50–400 Hz voices). */
  minLagMs?: number;
  maxLagMs?: number;
  /** Correlation a period must reach before audio is removed or repeated in voiced sound. */
  threshold?: number;
  /** Below this RMS a stretch of audio counts as silence and the length is free. */
  silenceRms?: number;
}

/** What a stretch did: the new audio and how many samples it gained (positive) or lost. */
export interface Stretched {
  samples: Int16Array;
  change: number;
}

/** Length of the windows compared when looking for a period (ms). */
const WINDOW_MS = 10;
/** Coarse search step: every 4th lag over every 4th sample, then refined sample by sample. */
const DECIMATE = 4;

export class TimeStretcher {
  readonly minLag: number;
  readonly maxLag: number;
  private readonly window: number;
  private readonly threshold: number;
  private readonly silenceRms: number;

  constructor(opts: TimeStretchOptions = {}) {
    this.minLag = msToSamples(opts.minLagMs ?? 2.5);
    this.maxLag = msToSamples(opts.maxLagMs ?? 20);
    this.window = msToSamples(WINDOW_MS);
    this.threshold = opts.threshold ?? 0.9;
    this.silenceRms = opts.silenceRms ?? 200;
  }

  /**
   * Removes up to `max` samples from `x` (audio not yet played; its first sample stays first):
   * one pitch period where the correlation is high, or `max` itself in silence. `change` is 0
   * when no good period was found: try again later, when the audio may suit.
   */
  accelerate(x: Int16Array, max: number): Stretched {
    const lag = this.chooseLag(x, 0, Math.min(max, Math.floor(x.length / 2)));
    if (lag === 0) return { samples: x, change: 0 };
    const out = new Int16Array(x.length - lag);
    crossFade(x, 0, x, lag, lag, out, 0);
    out.set(x.subarray(2 * lag), lag);
    return { samples: out, change: -lag };
  }

  /**
   * Inserts up to `max` samples into `x` (audio not yet played; its first sample stays first):
   * one period repeated where the correlation is high, or `max` itself in silence.
   */
  expand(x: Int16Array, max: number): Stretched {
    const lag = this.chooseLag(x, 0, Math.min(max, Math.floor(x.length / 2)));
    if (lag === 0) return { samples: x, change: 0 };
    const out = new Int16Array(x.length + lag);
    out.set(x.subarray(0, lag), 0);
    crossFade(x, lag, x, 0, lag, out, lag);
    out.set(x.subarray(lag), 2 * lag);
    return { samples: out, change: lag };
  }

  /**
   * Audio to follow `past` (what has been played or decoded up to now) when nothing new has
   * come: whole periods of its end repeated, at least `need` samples, so the last sample
   * generated leads into what comes next as the last sample of `past` would have. Always
   * succeeds (the best period however poor, the wait is not optional); silence without a past.
   */
  extend(past: Int16Array, need: number): Int16Array {
    const end = past.length;
    if (end < this.minLag + this.window) return new Int16Array(need);
    const tail = past.subarray(Math.max(0, end - this.window));
    let period: number;
    if (rms(tail) < this.silenceRms) {
      period = Math.min(need, end - 1);
    } else {
      const pitch = this.bestLag(past, end - this.window, this.minLag, Math.min(this.maxLag, end - this.window), -1).lag;
      period = repeatLength(pitch, need, Math.min(end - 1, 2 * this.maxLag));
    }
    const count = Math.ceil(need / period) * period;
    const out = new Int16Array(count);
    const from = end - period;
    // The repeat starts one period back: lift its first samples by the mismatch at the seam,
    // fading out, so the join has the slope the template has rather than a step.
    const step = past[end - 1] - past[from - 1 >= 0 ? from - 1 : from];
    const fade = Math.min(period, msToSamples(1));
    for (let i = 0; i < count; i++) {
      const k = i % period;
      const lift = k < fade ? (step * (fade - k)) / fade : 0;
      out[i] = clamp(past[from + k] + lift);
    }
    return out;
  }

  /** The lag to remove or repeat at `at` in `x`, at most `max` samples; 0 when none is good. */
  private chooseLag(x: Int16Array, at: number, max: number): number {
    if (max < 1) return 0;
    const span = x.subarray(at, at + 2 * max);
    if (rms(span) < this.silenceRms) return max;
    const hi = Math.min(max, this.maxLag, x.length - at - this.window);
    if (hi < this.minLag) return 0;
    const best = this.bestLag(x, at, this.minLag, hi, 1);
    return best.ncc >= this.threshold ? best.lag : 0;
  }

  /**
   * The lag in [lo, hi] at which the window at `at` best matches the window `dir`·lag away
   * (later for +1, earlier for −1), by normalized cross-correlation: a coarse search, then
   * the neighbourhood of the three best coarse lags sample by sample.
   */
  private bestLag(x: Int16Array, at: number, lo: number, hi: number, dir: 1 | -1): { lag: number; ncc: number } {
    const coarse: { lag: number; ncc: number }[] = [];
    for (let lag = lo; lag <= hi; lag += DECIMATE) coarse.push({ lag, ncc: ncc(x, at, at + dir * lag, this.window, DECIMATE) });
    coarse.sort((a, b) => b.ncc - a.ncc);
    let best = { lag: lo, ncc: -Infinity };
    for (const c of coarse.slice(0, 3)) {
      for (let lag = Math.max(lo, c.lag - DECIMATE + 1); lag <= Math.min(hi, c.lag + DECIMATE - 1); lag++) {
        const v = ncc(x, at, at + dir * lag, this.window, 1);
        if (v > best.ncc) best = { lag, ncc: v };
      }
    }
    return best;
  }
}

/**
 * A run of whole pitch periods to repeat so that repeating it fills `need` with the least
 * overshoot, the longest run on a tie: one long segment sounds far more natural than a short
 * period looped many times.
 */
function repeatLength(pitch: number, need: number, limit: number): number {
  let best = pitch;
  let bestTotal = Math.ceil(need / pitch) * pitch;
  for (let run = 2 * pitch; run <= limit; run += pitch) {
    const total = Math.ceil(need / run) * run;
    if (total <= bestTotal) {
      best = run;
      bestTotal = total;
    }
  }
  return best;
}

function clamp(v: number): number {
  return v > 32767 ? 32767 : v < -32768 ? -32768 : Math.round(v);
}

function rms(x: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i] * x[i];
  return x.length ? Math.sqrt(sum / x.length) : 0;
}

/** Normalized cross-correlation of x[a, a+n) with x[b, b+n), every `step`th sample. */
function ncc(x: Int16Array, a: number, b: number, n: number, step: number): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i += step) {
    const u = x[a + i];
    const v = x[b + i];
    ab += u * v;
    aa += u * u;
    bb += v * v;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

/** out[o + i] = x[a + i] fading out into y[b + i] fading in, for i < n (a raised-cosine cross-fade). */
function crossFade(x: Int16Array, a: number, y: Int16Array, b: number, n: number, out: Int16Array, o: number): void {
  for (let i = 0; i < n; i++) {
    const w = 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / n);
    out[o + i] = clamp((1 - w) * x[a + i] + w * y[b + i]);
  }
}
