import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { AudioSink, Frame } from '../../src/audio/types';
import { SAMPLE_RATE } from '../../src/audio/types';

/** Keeps every frame the playout clock writes, with when it was written. */
export class RecordingSink extends EventEmitter implements AudioSink {
  readonly description = 'recording';
  readonly frames: Frame[] = [];
  readonly times: number[] = [];
  opened = false;
  closed = false;

  async open(): Promise<void> {
    this.opened = true;
  }

  write(frame: Frame): void {
    this.frames.push(frame.slice());
    this.times.push(performance.now());
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  samples(fromFrame = 0, toFrame = this.frames.length): Int16Array {
    const parts = this.frames.slice(fromFrame, toFrame);
    const out = new Int16Array(parts.reduce((n, f) => n + f.length, 0));
    let o = 0;
    for (const f of parts) {
      out.set(f, o);
      o += f.length;
    }
    return out;
  }
}

/** Power of `x` at `freq` Hz (Goertzel), normalised by length. */
export function powerAt(x: ArrayLike<number>, freq: number, rate = SAMPLE_RATE): number {
  const k = 2 * Math.cos((2 * Math.PI * freq) / rate);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < x.length; i++) {
    const s0 = x[i] + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - k * s1 * s2) / (x.length * x.length);
}

/** The strongest frequency between `lo` and `hi` Hz, in `step` Hz steps. */
export function dominantFrequency(x: ArrayLike<number>, lo = 100, hi = 4000, step = 10): number {
  let best = lo;
  let bestPower = -1;
  for (let f = lo; f <= hi; f += step) {
    const p = powerAt(x, f);
    if (p > bestPower) {
      bestPower = p;
      best = f;
    }
  }
  return best;
}

export function rms(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return x.length ? Math.sqrt(s / x.length) : 0;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
