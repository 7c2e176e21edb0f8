import { EventEmitter } from 'node:events';
import { FrameClock } from '../clock';
import { realTimers, type Timers } from '../timers';
import { SAMPLE_RATE, type AudioSource, type Frame } from '../types';

export interface PacedSourceOptions {
  /** Time and timers of the source's clock; the real ones unless given (tests drive their own). */
  timers?: Timers;
}

/**
 * closed → opening → open → running → closed. Open holds the device (a recorder running, a file
 * read); running adds the clock. stop() from any state releases everything.
 */
type SourceState =
  | { kind: 'closed' }
  | { kind: 'opening'; done: Promise<void> }
  | { kind: 'open' }
  | { kind: 'running'; clock: FrameClock; onFrame: (frame: Frame) => void };

/**
 * A source that hands out one frame per frame period on a FrameClock. Subclasses say what the
 * next frame is; returning null ends the source (emits 'end'), returning undefined means the
 * frame is not there yet and the subclass hands it on later through `deliverLate`.
 */
export abstract class PacedSource extends EventEmitter implements AudioSource {
  abstract readonly description: string;
  private state: SourceState = { kind: 'closed' };
  protected readonly timers: Timers;

  constructor(opts: PacedSourceOptions = {}) {
    super();
    this.timers = opts.timers ?? realTimers;
  }

  protected abstract nextFrame(samples: number): Frame | null | undefined;

  /** Opens the device or file; runs once per open, before any frame size is known. */
  protected async prepare(): Promise<void> {}

  /** Runs when the clock is about to start with frames of `samples` samples. */
  protected begin(_samples: number): void {}

  /** Releases what prepare() opened; runs on stop, whatever the state. */
  protected async release(): Promise<void> {}

  private enter(next: SourceState): void {
    this.state = next;
  }

  /** Validates and opens the input; idempotent, and start() opens it too if need be. */
  open(): Promise<void> {
    const s = this.state;
    if (s.kind === 'opening') return s.done;
    if (s.kind !== 'closed') return Promise.resolve();
    let opening!: SourceState;
    const done = this.prepare().then(
      () => {
        if (this.state === opening) this.enter({ kind: 'open' });
      },
      (err: unknown) => {
        if (this.state === opening) this.enter({ kind: 'closed' });
        throw err;
      },
    );
    opening = { kind: 'opening', done };
    this.enter(opening);
    return done;
  }

  get isOpen(): boolean {
    return this.state.kind === 'open' || this.state.kind === 'running';
  }

  async start(samples: number, onFrame: (frame: Frame) => void): Promise<void> {
    if (this.state.kind === 'running') throw new Error(`${this.description}: already started`);
    if (!Number.isInteger(samples) || samples <= 0) throw new Error(`bad frame size ${samples}`);
    await this.open();
    const s = this.state as SourceState;
    if (s.kind === 'running') throw new Error(`${this.description}: already started`);
    // Stopped while opening: there is nothing left to start.
    if (s.kind !== 'open') return;
    this.begin(samples);
    const clock = new FrameClock(
      (samples * 1000) / SAMPLE_RATE,
      () => {
        const frame = this.nextFrame(samples);
        if (frame) {
          onFrame(frame);
        } else if (frame === null) {
          clock.stop();
          this.emit('end');
        }
      },
      { timers: this.timers },
    );
    this.enter({ kind: 'running', clock, onFrame });
    clock.start();
  }

  /** Runs the next tick now if it is due within `leadMs` (a frame that is ready early). */
  protected pullEarly(leadMs: number): boolean {
    return this.state.kind === 'running' && this.state.clock.tickEarly(leadMs);
  }

  /** Hands on a frame that was not ready at its tick, `lateMs` after it; the schedule moves with it. */
  protected deliverLate(frame: Frame, lateMs: number): void {
    if (this.state.kind !== 'running') return;
    this.state.clock.delay(lateMs);
    this.state.onFrame(frame);
  }

  /** Stops the frames and releases the device, whether or not it was ever started. */
  async stop(): Promise<void> {
    const s = this.state;
    this.enter({ kind: 'closed' });
    if (s.kind === 'running') s.clock.stop();
    await this.release();
  }
}
