/** Frame durations the pipeline supports: all are whole Opus frames and whole 16 kHz frames. */
export const FRAME_MS = [10, 20, 40] as const;
export type FrameMs = (typeof FRAME_MS)[number];

export function checkFrameMs(codec: string, frameMs: number): void {
  if (!(FRAME_MS as readonly number[]).includes(frameMs)) {
    throw new Error(`${codec}: frame must be ${FRAME_MS.join(', ')} ms, got ${frameMs}`);
  }
}
