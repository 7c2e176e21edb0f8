import { SAMPLE_RATE, type Frame } from '../types';
import { Vad } from './vad';

/**
 * A gate after noise suppression: in the pauses between words, what the suppressor left of the
 * background is turned down a further `depthDb`; while the talker talks the signal passes as it
 * is. It lets the suppressor run gently (WebRTC's moderate level keeps speech within ~2.5 dB in
 * a fan at 5 dB SNR, where its high level takes 3.6 dB) and still lower the floor in pauses
 * ~17 dB in all (docs/architecture.md, "Noise suppression").
 *
 * Its own energy detector judges the suppressed signal, where speech stands well clear of what
 * is left of the noise. It opens within 5 ms of a voiced frame and closes over 60 ms once the
 * detector's hangover has run out, so word onsets and tails are kept.
 */
export const PAUSE_GATE_DB = 12;
const OPEN_SAMPLES = (5 * SAMPLE_RATE) / 1000;
const CLOSE_SAMPLES = (60 * SAMPLE_RATE) / 1000;

export class PauseGate {
  private readonly vad = new Vad({ thresholdDb: 6, onsetDb: 12, hangoverMs: 150 });
  private readonly closedGain: number;
  private gain = 1;

  constructor(depthDb = PAUSE_GATE_DB) {
    if (!Number.isFinite(depthDb) || depthDb < 0) throw new RangeError(`a pause gate's depth is a number of dB ≥ 0, not ${depthDb}`);
    this.closedGain = 10 ** (-depthDb / 20);
  }

  /** Gates `frame` in place; returns whether it held voice (or the hangover after it). */
  process(frame: Frame): boolean {
    const voiced = this.vad.process(frame);
    const target = voiced ? 1 : this.closedGain;
    const span = 1 - this.closedGain;
    let g = this.gain;
    if (g === 1 && target === 1) return voiced;
    for (let i = 0; i < frame.length; i++) {
      if (g < target) g = Math.min(target, g + span / OPEN_SAMPLES);
      else if (g > target) g = Math.max(target, g - span / CLOSE_SAMPLES);
      frame[i] = Math.round(frame[i] * g);
    }
    this.gain = g;
    return voiced;
  }
}
