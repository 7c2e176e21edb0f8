import { MAX_LINE_BYTES } from './limits';

export type LineEvent = { kind: 'line'; line: string } | { kind: 'oversize'; bytes: number };
/** Handles one event; returning `false` stops the decoder after it (see `LineDecoder.resume`). */
export type LineHandler = (ev: LineEvent) => boolean | void;

/** The smallest buffer allocated for an unfinished line. */
const MIN_PARTIAL_BYTES = 64;

/**
 * Splits a byte stream into newline-terminated UTF-8 lines.
 *
 * Whole lines are decoded straight from the chunk they arrive in. An unfinished line is held in
 * one buffer of its own that grows by doubling, so what it costs is proportional to the bytes
 * held (at most half as much again) however finely they were split; it is let go as soon as the line ends. A line longer
 * than `maxBytes` is reported once as `oversize` and its remaining bytes are skipped up to the
 * next newline, so one huge line costs no memory and the stream resynchronises on the line after.
 *
 * A handler may ask to stop (a reader over its budget): the rest of that chunk is kept, unread,
 * until `resume`; the caller stops feeding chunks meanwhile (pausing its socket).
 */
export class LineDecoder {
  private partial: Buffer | null = null;
  /** Bytes of the unfinished line: held in `partial`, or skipped when it is over the limit. */
  private size = 0;
  private skipping = false;
  /** Input not yet looked at, kept when a handler asked to stop (and whatever was pushed after). */
  private held: Buffer[] = [];

  constructor(private readonly maxBytes = MAX_LINE_BYTES) {}

  /** Feeds a chunk; false when a handler asked to stop (the rest is held for `resume`). */
  push(chunk: Buffer, emit: LineHandler): boolean {
    if (this.held.length > 0) {
      // Stopped: nothing is read before `resume`. The caller should not be feeding it now.
      this.held.push(Buffer.from(chunk));
      return false;
    }
    return this.feed(chunk, emit);
  }

  /** Goes on with the input held since a handler asked to stop; false when one asks again. */
  resume(emit: LineHandler): boolean {
    while (this.held.length > 0) {
      if (!this.feed(this.held.shift()!, emit)) return false;
    }
    return true;
  }

  /** Bytes held for an unfinished line. */
  get pendingBytes(): number {
    return this.skipping ? 0 : this.size;
  }

  /** Bytes received and not yet looked at, since a handler asked to stop. */
  get heldBytes(): number {
    let n = 0;
    for (const b of this.held) n += b.length;
    return n;
  }

  /** Bytes allocated for the unfinished line (at most half as much again as it holds, or 64). */
  get capacity(): number {
    return this.partial?.length ?? 0;
  }

  private feed(chunk: Buffer, emit: LineHandler): boolean {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) {
        this.keep(chunk, start, chunk.length);
        return true;
      }
      const ev = this.finish(chunk, start, nl);
      start = nl + 1;
      if (ev && emit(ev) === false) {
        if (start < chunk.length) this.held.unshift(copy(chunk, start, chunk.length));
        return false;
      }
    }
    return true;
  }

  /** Adds bytes of a line whose end has not arrived. */
  private keep(chunk: Buffer, start: number, end: number): void {
    const n = end - start;
    if (this.skipping) {
      this.size += n;
    } else if (this.size + n > this.maxBytes) {
      this.skipping = true;
      this.size += n;
      this.partial = null;
    } else if (n > 0) {
      this.reserve(this.size + n);
      chunk.copy(this.partial!, this.size, start, end);
      this.size += n;
    }
  }

  /** The line ending at `end` (the newline) with what was held for it, as an event; null for an empty line. */
  private finish(chunk: Buffer, start: number, end: number): LineEvent | null {
    const total = this.size + (end - start);
    let ev: LineEvent | null;
    if (this.skipping || total > this.maxBytes) {
      ev = { kind: 'oversize', bytes: total };
    } else {
      let line: string;
      if (this.size === 0) {
        line = chunk.toString('utf8', start, end);
      } else {
        this.keep(chunk, start, end);
        line = this.partial!.toString('utf8', 0, this.size);
      }
      if (line.endsWith('\r')) line = line.slice(0, -1);
      ev = line.length > 0 ? { kind: 'line', line } : null;
    }
    this.partial = null;
    this.size = 0;
    this.skipping = false;
    return ev;
  }

  private reserve(bytes: number): void {
    if (this.partial && this.partial.length >= bytes) return;
    // Own memory (not a slice of the shared pool, which would pin a whole slab), half as much again as needed.
    const grown = Buffer.allocUnsafeSlow(Math.min(this.maxBytes, Math.max(MIN_PARTIAL_BYTES, bytes + (bytes >>> 1))));
    if (this.partial) this.partial.copy(grown, 0, 0, this.size);
    this.partial = grown;
  }
}

function copy(chunk: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafeSlow(end - start);
  chunk.copy(out, 0, start, end);
  return out;
}

export function encodeLine(msg: object): string {
  return JSON.stringify(msg) + '\n';
}
