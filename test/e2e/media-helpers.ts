import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { AudioSink, Frame } from '../../src/audio/types';
import { concatFrames } from '../helpers/audio';

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
    return concatFrames(this.frames.slice(fromFrame, toFrame));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
