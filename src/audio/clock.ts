/**
 * A drift-free periodic clock: tick k is due at start + k·period, computed from the start time,
 * so timer lateness never accumulates. Timers are armed about a millisecond early (Node's
 * timers fire late, rarely early) and a tick runs once it is within TOLERANCE_MS of its due
 * time; a busy-wait would cut jitter further but burn the CPU a call must not use.
 */
import { performance } from 'node:perf_hooks';

const EARLY_MS = 1;
const TOLERANCE_MS = 0.5;
/** Beyond this much lateness (a stalled process) the schedule restarts instead of bursting. */
const MAX_CATCH_UP_MS = 1000;

export class FrameClock {
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private ticks = 0;
  private running = false;

  constructor(
    readonly periodMs: number,
    private readonly onTick: () => void,
  ) {
    if (!(periodMs > 0)) throw new Error(`clock period must be positive, got ${periodMs}`);
  }

  /** Ticks now and then every period. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.startedAt = performance.now();
    this.ticks = 0;
    this.run();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Ticks delivered since start. */
  get count(): number {
    return this.ticks;
  }

  private due(): number {
    return this.startedAt + this.ticks * this.periodMs;
  }

  private run = (): void => {
    this.timer = undefined;
    let now = performance.now();
    if (now - this.due() > MAX_CATCH_UP_MS) {
      this.startedAt = now - this.ticks * this.periodMs;
    }
    while (this.running && this.due() - now <= TOLERANCE_MS) {
      this.ticks++;
      this.onTick();
      now = performance.now();
    }
    if (this.running) {
      this.timer = setTimeout(this.run, Math.max(0, this.due() - now - EARLY_MS));
    }
  };
}
