import { basename } from 'node:path';
import type { Frame } from '../types';
import { readWavMono48k } from '../wav';
import { PacedSource } from './paced-source';

/** Plays a WAV file (any rate/channels, converted to 48 kHz mono) once or in a loop. */
export class WavFileSource extends PacedSource {
  readonly description: string;
  private audio: Int16Array | undefined;
  private offset = 0;

  constructor(
    readonly path: string,
    readonly loop = false,
  ) {
    super();
    this.description = `wav ${basename(path)}${loop ? ' (loop)' : ''}`;
  }

  protected override async prepare(): Promise<void> {
    this.audio = readWavMono48k(this.path);
    this.offset = 0;
    if (this.audio.length === 0 && this.loop) throw new Error(`WAV file ${this.path} is empty and cannot loop`);
  }

  /** The last frame of a file that ends mid-frame is padded with silence. */
  protected nextFrame(samples: number): Frame | null {
    const audio = this.audio as Int16Array;
    if (this.offset >= audio.length) {
      if (!this.loop) return null;
      this.offset = 0;
    }
    const frame = new Int16Array(samples);
    let filled = 0;
    while (filled < samples && this.offset < audio.length) {
      const n = Math.min(samples - filled, audio.length - this.offset);
      frame.set(audio.subarray(this.offset, this.offset + n), filled);
      filled += n;
      this.offset += n;
      if (this.loop && this.offset >= audio.length) this.offset = 0;
    }
    return frame;
  }
}
