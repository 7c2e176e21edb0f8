import type { Frame } from '../types';

/**
 * What a media session (a call's, a room's) asks of the microphone processing: each captured
 * frame goes through `capture` before it is metered or encoded, each frame handed to the speaker
 * goes to `playback` (the echo reference). Frames are the session's frame size (10, 20 or 40 ms).
 */
export interface FrameProcessor {
  /**
   * A microphone frame, processed in place. Returns whether it holds voice, or null when there
   * is no verdict (no voice detection): a frame without a verdict is always sent.
   */
  capture(frame: Frame): boolean | null;
  /** A frame as it is handed to the speaker. */
  playback(frame: Frame): void;
  /** Releases what the processing holds (native state); idempotent. */
  close(): void;
}
