import { EventEmitter } from 'node:events';
import { FrameClock } from '../clock';
import { SAMPLE_RATE, type AudioSource, type Frame } from '../types';

/**
 * A source that hands out one frame per frame period on a FrameClock. Subclasses say what the
 * next frame is; returning null ends the source (emits 'end'), returning undefined means the
 * frame is not there yet and the subclass hands it on later through `deliverLate`.
 */
export abstract class PacedSource extends EventEmitter implements AudioSource {
  abstract readonly description: string;
  private clock: FrameClock | undefined;
  private onFrame: ((frame: Frame) => void) | undefined;

  protected abstract nextFrame(samples: number): Frame | null | undefined;

  /** Hook for sources that must open something first; runs before the clock starts. */
  protected async prepare(_samples: number): Promise<void> {}

  /** Hook run when stopped. */
  protected async release(): Promise<void> {}

  async start(samples: number, onFrame: (frame: Frame) => void): Promise<void> {
    if (this.clock) throw new Error(`${this.description}: already started`);
    if (!Number.isInteger(samples) || samples <= 0) throw new Error(`bad frame size ${samples}`);
    await this.prepare(samples);
    this.onFrame = onFrame;
    const clock = new FrameClock((samples * 1000) / SAMPLE_RATE, () => {
      const frame = this.nextFrame(samples);
      if (frame) {
        onFrame(frame);
      } else if (frame === null) {
        clock.stop();
        this.emit('end');
      }
    });
    this.clock = clock;
    clock.start();
  }

  /** Runs the next tick now if it is due within `leadMs` (a frame that is ready early). */
  protected pullEarly(leadMs: number): boolean {
    return this.clock?.tickEarly(leadMs) ?? false;
  }

  /** Hands on a frame that was not ready at its tick, `lateMs` after it; the schedule moves with it. */
  protected deliverLate(frame: Frame, lateMs: number): void {
    if (!this.clock || !this.onFrame) return;
    this.clock.delay(lateMs);
    this.onFrame(frame);
  }

  async stop(): Promise<void> {
    this.clock?.stop();
    this.clock = undefined;
    this.onFrame = undefined;
    await this.release();
  }
}
