import { EventEmitter } from 'node:events';
import type { AudioSink, Frame } from '../types';

/** Discards audio, counting what it was given. */
export class NullSink extends EventEmitter implements AudioSink {
  readonly description = 'null';
  frames = 0;
  samples = 0;

  async open(): Promise<void> {}

  write(frame: Frame): void {
    this.frames++;
    this.samples += frame.length;
  }

  async close(): Promise<void> {}
}
