import { EventEmitter } from 'node:events';
import { basename } from 'node:path';
import { closeSync, openSync, writeSync } from 'node:fs';
import { AudioError } from '../errors';
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

  /** Creates the file (so a path that cannot be written fails before any call); idempotent. */
  async open(): Promise<void> {
    if (this.fd !== undefined) return;
    let fd: number | undefined;
    try {
      fd = openSync(this.path, 'w');
      writeSync(fd, wavHeader(0));
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      throw new AudioError('output_device', `cannot write WAV file ${this.path}: ${reason(err)}`, { detail: (err as Error).message, cause: err });
    }
    this.fd = fd;
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
    const failure = new AudioError('output_device', `writing WAV file ${this.path} failed: ${reason(err)}`, { detail: err.message, cause: err });
    if (this.listenerCount('error') > 0) this.emit('error', failure);
  }
}

/** A file system error in a few words: "no such directory (ENOENT)". */
function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const words: Record<string, string> = {
    ENOENT: 'no such directory',
    EACCES: 'permission denied',
    EISDIR: 'it is a directory',
    ENOSPC: 'no space left on the device',
    EROFS: 'read-only file system',
  };
  return e.code && words[e.code] ? `${words[e.code]} (${e.code})` : e.message;
}
