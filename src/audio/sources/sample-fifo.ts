import type { TimeStretcher } from '../time-stretch';

/** A bounded queue of samples that sheds its oldest when told to. */
export class SampleFifo {
  private buf: Int16Array;
  private start = 0;
  private end = 0;

  constructor(capacity: number) {
    this.buf = new Int16Array(capacity);
  }

  get length(): number {
    return this.end - this.start;
  }

  push(samples: Int16Array): void {
    if (this.end + samples.length > this.buf.length) this.compact(samples.length);
    this.buf.set(samples, this.end);
    this.end += samples.length;
  }

  /** Takes `n` samples, or null if fewer are queued. */
  shift(n: number): Int16Array | null {
    if (this.length < n) return null;
    const out = this.buf.slice(this.start, this.start + n);
    this.start += n;
    return out;
  }

  /** Drops the oldest samples so that at most `keep` remain; returns how many were dropped. */
  trimTo(keep: number): number {
    const drop = Math.max(0, this.length - keep);
    this.start += drop;
    return drop;
  }

  /**
   * Takes up to `max` samples out of the oldest `span` by time-stretching them (a pitch period
   * where the audio repeats well, anything in silence), so nothing audible is cut; returns how
   * many went (0 when no good period was there: try again later).
   */
  compress(span: number, max: number, stretcher: TimeStretcher): number {
    const n = Math.min(span, this.length);
    const r = stretcher.accelerate(this.buf.subarray(this.start, this.start + n), max);
    if (r.change === 0) return 0;
    // The shortened audio ends where the original did; the queue now starts `removed` later.
    const removed = -r.change;
    this.buf.set(r.samples, this.start + removed);
    this.start += removed;
    return removed;
  }

  private compact(incoming: number): void {
    const live = this.buf.slice(this.start, this.end);
    if (live.length + incoming > this.buf.length) this.buf = new Int16Array(2 * (live.length + incoming));
    this.buf.set(live, 0);
    this.end = live.length;
    this.start = 0;
  }
}
