import { EventEmitter } from 'node:events';
import { basename } from 'node:path';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { AudioSink, Frame } from '../types';
import { int16ToLE, wavHeader, WAV_HEADER_BYTES } from '../wav';

/** How often the header's sizes are brought up to date, so a killed process leaves a valid file. */
const HEADER_REFRESH_BYTES = 96000;

/**
 * Writes 16-bit mono 48 kHz WAV. Writes are synchronous: a frame is a couple of kilobytes, and
 * keeping them in order on a plain fd is simpler than a stream's back-pressure.
 */
export class WavFileSink extends EventEmitter implements AudioSink {
  readonly description: string;
  private fd: number | undefined;
  private dataBytes = 0;
  private sinceHeader = 0;

  constructor(readonly path: string) {
    super();
    this.description = `wav ${basename(path)}`;
  }

  async open(): Promise<void> {
    try {
      this.fd = openSync(this.path, 'w');
      writeSync(this.fd, wavHeader(0));
    } catch (err) {
      throw new Error(`cannot write WAV file ${this.path}: ${(err as Error).message}`);
    }
    this.dataBytes = 0;
    this.sinceHeader = 0;
  }

  write(frame: Frame): void {
    if (this.fd === undefined) return;
    try {
      const bytes = int16ToLE(frame);
      writeSync(this.fd, bytes, 0, bytes.length, WAV_HEADER_BYTES + this.dataBytes);
      this.dataBytes += bytes.length;
      this.sinceHeader += bytes.length;
      if (this.sinceHeader >= HEADER_REFRESH_BYTES) this.writeHeader();
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /** Samples written so far. */
  get samples(): number {
    return this.dataBytes / 2;
  }

  async close(): Promise<void> {
    if (this.fd === undefined) return;
    try {
      this.writeHeader();
    } finally {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }

  private writeHeader(): void {
    writeSync(this.fd as number, wavHeader(this.dataBytes), 0, WAV_HEADER_BYTES, 0);
    this.sinceHeader = 0;
  }

  private fail(err: Error): void {
    const fd = this.fd;
    this.fd = undefined;
    try {
      if (fd !== undefined) closeSync(fd);
    } catch {
      // The write error below is the one worth reporting.
    }
    this.emit('error', new Error(`writing WAV file ${this.path} failed: ${err.message}`));
  }
}
