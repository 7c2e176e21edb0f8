import type { Frame } from '../audio/types';

/**
 * Decoded audio between the decoder and the sink (NetEq's "sync buffer"): what is queued to
 * play, behind a little of what was played, which the time-stretcher needs as context.
 */
export class SyncBuffer {
  private data: Int16Array;
  private read = 0;
  private end = 0;

  constructor(private readonly historySamples: number) {
    this.data = new Int16Array(historySamples * 4);
  }

  /** Samples queued, not yet played. */
  get queued(): number {
    return this.end - this.read;
  }

  append(x: Int16Array): void {
    this.reserve(x.length);
    this.data.set(x, this.end);
    this.end += x.length;
  }

  /** The queued samples (a view: valid until the next change). */
  unplayed(): Int16Array {
    return this.data.subarray(this.read, this.end);
  }

  /** The kept history followed by the queued samples (a view). */
  past(): Int16Array {
    return this.data.subarray(Math.max(0, this.read - this.historySamples), this.end);
  }

  /** Replaces the queued samples with a stretched version of them (a new array). */
  replaceUnplayed(x: Int16Array): void {
    this.end = this.read;
    this.append(x);
  }

  /** The next `n` samples, zero-padded if fewer are queued; they become history. */
  play(n: number): Frame {
    const out = new Int16Array(n);
    const take = Math.min(n, this.queued);
    out.set(this.data.subarray(this.read, this.read + take));
    this.read += take;
    return out;
  }

  /** Room for `n` more samples: history beyond what is kept goes, the array grows if need be. */
  private reserve(n: number): void {
    if (this.end + n <= this.data.length) return;
    const keep = Math.max(0, this.read - this.historySamples);
    const size = this.end - keep + n;
    // The same array when it has room: `set` copies overlapping ranges correctly.
    const data = size * 2 > this.data.length ? new Int16Array(size * 2) : this.data;
    data.set(this.data.subarray(keep, this.end), 0);
    this.data = data;
    this.read -= keep;
    this.end -= keep;
  }
}
