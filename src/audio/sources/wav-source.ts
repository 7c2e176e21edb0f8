import { basename } from 'node:path';
import type { Frame } from '../types';
import { AudioError } from '../errors';
import { openWavMono48k, type WavSamples } from '../wav';
import { PacedSource, type PacedSourceOptions } from './paced-source';

/** Plays a WAV file (any rate/channels, converted to 48 kHz mono) once or in a loop, read as it plays. */
export class WavFileSource extends PacedSource {
  readonly description: string;
  private audio: WavSamples | undefined;
  private offset = 0;

  constructor(
    readonly path: string,
    readonly loop = false,
    opts: PacedSourceOptions = {},
  ) {
    super(opts);
    this.description = `wav ${basename(path)}${loop ? ' (loop)' : ''}`;
  }

  /** Opens and checks the file: a bad one fails here, before any call is made. */
  protected override async prepare(): Promise<void> {
    const audio = openWavMono48k(this.path);
    if (audio.length === 0 && this.loop) {
      audio.close();
      throw new AudioError('input_device', `cannot loop WAV file ${this.path}: it holds no audio`);
    }
    this.audio = audio;
    this.offset = 0;
  }

  protected override async release(): Promise<void> {
    this.audio?.close();
    this.audio = undefined;
  }

  /** The last frame of a file that ends mid-frame is padded with silence. */
  protected nextFrame(samples: number): Frame | null {
    const audio = this.audio;
    if (!audio) return null;
    if (this.offset >= audio.length) {
      if (!this.loop) return null;
      this.offset = 0;
    }
    const frame = new Int16Array(samples);
    let filled = 0;
    while (filled < samples && this.offset < audio.length) {
      const n = audio.read(frame.subarray(filled), this.offset);
      if (n === 0) break;
      filled += n;
      this.offset += n;
      if (this.loop && this.offset >= audio.length) this.offset = 0;
    }
    return frame;
  }
}
