import { MAX_LINE_BYTES } from './limits';

export type LineEvent = { kind: 'line'; line: string } | { kind: 'oversize'; bytes: number };

/**
 * Splits a byte stream into newline-terminated UTF-8 lines.
 * Keeps at most `maxBytes` of an unfinished line: a longer line is reported once as
 * `oversize` and its remaining bytes are skipped up to the next newline, so one huge
 * line costs no memory and the stream resynchronises on the line after it.
 */
export class LineDecoder {
  private parts: Buffer[] = [];
  private size = 0;
  private skipping = false;

  constructor(private readonly maxBytes = MAX_LINE_BYTES) {}

  push(chunk: Buffer, emit: (ev: LineEvent) => void): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(10, start);
      const end = nl === -1 ? chunk.length : nl;
      if (this.skipping) {
        this.size += end - start;
      } else if (this.size + (end - start) > this.maxBytes) {
        this.skipping = true;
        this.size += end - start;
        this.parts = [];
      } else if (end > start) {
        this.parts.push(chunk.subarray(start, end));
        this.size += end - start;
      }
      if (nl === -1) {
        // Keep a copy: the caller's chunk may be reused.
        if (!this.skipping && this.parts.length > 0) {
          const last = this.parts.length - 1;
          this.parts[last] = Buffer.from(this.parts[last]);
        }
        return;
      }
      if (this.skipping) emit({ kind: 'oversize', bytes: this.size });
      else {
        let line =
          this.parts.length === 1 ? this.parts[0].toString('utf8') : Buffer.concat(this.parts, this.size).toString('utf8');
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (line.length > 0) emit({ kind: 'line', line });
      }
      this.parts = [];
      this.size = 0;
      this.skipping = false;
      start = nl + 1;
    }
  }

  /** Bytes held for an unfinished line. */
  get pendingBytes(): number {
    return this.skipping ? 0 : this.size;
  }
}

export function encodeLine(msg: object): string {
  return JSON.stringify(msg) + '\n';
}
