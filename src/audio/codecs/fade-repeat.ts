/**
 * Concealment by repetition: a lost frame is the last good frame again, at a gain that falls
 * linearly (within the frame, so there is no step) by FADE_PER_FRAME per consecutive loss. A
 * single loss sounds like a short echo rather than a hole; a long gap fades to silence.
 */
const FADE_PER_FRAME = 0.5;

export class FadeRepeat {
  private last: Int16Array | undefined;
  private gain = 1;

  /** Remembers a good frame and resets the fade. */
  good(frame: Int16Array): void {
    this.last = frame;
    this.gain = 1;
  }

  conceal(samples: number): Int16Array {
    const out = new Int16Array(samples);
    const last = this.last;
    if (!last || this.gain <= 0) return out;
    const from = this.gain;
    const to = Math.max(0, from - FADE_PER_FRAME);
    for (let i = 0; i < samples; i++) {
      out[i] = Math.round(last[i % last.length] * (from + ((to - from) * i) / samples));
    }
    this.gain = to;
    return out;
  }
}
