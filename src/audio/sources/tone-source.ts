import { SAMPLE_RATE, type Frame } from '../types';
import { PacedSource, type PacedSourceOptions } from './paced-source';

/** A continuous sine; amplitude is a fraction of full scale. Amplitude 0 is silence. */
export class ToneSource extends PacedSource {
  readonly description: string;
  private phase = 0;

  constructor(
    readonly frequency = 440,
    readonly amplitude = 0.3,
    opts: PacedSourceOptions = {},
  ) {
    super(opts);
    if (!(frequency > 0 && frequency < SAMPLE_RATE / 2)) throw new Error(`tone frequency out of range: ${frequency}`);
    if (!(amplitude >= 0 && amplitude <= 1)) throw new Error(`tone amplitude must be in 0..1, got ${amplitude}`);
    this.description = amplitude === 0 ? 'silence' : `tone ${frequency} Hz`;
  }

  protected nextFrame(samples: number): Frame {
    const frame = new Int16Array(samples);
    if (this.amplitude === 0) return frame;
    const inc = (2 * Math.PI * this.frequency) / SAMPLE_RATE;
    const scale = this.amplitude * 32767;
    // A rotating phasor instead of a sine per sample; restarted from the exact phase every
    // frame, so rounding cannot accumulate.
    const cosInc = Math.cos(inc);
    const sinInc = Math.sin(inc);
    let re = Math.cos(this.phase);
    let im = Math.sin(this.phase);
    for (let i = 0; i < samples; i++) {
      frame[i] = Math.round(scale * im);
      const next = re * cosInc - im * sinInc;
      im = re * sinInc + im * cosInc;
      re = next;
    }
    this.phase = (this.phase + samples * inc) % (2 * Math.PI);
    return frame;
  }
}

export class SilenceSource extends ToneSource {
  constructor(opts: PacedSourceOptions = {}) {
    super(440, 0, opts);
  }
}
