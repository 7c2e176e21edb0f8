/**
 * A drift-free periodic clock: tick k is due at start + k·period, computed from the start time,
 * so timer lateness never accumulates. Node's timers count whole milliseconds of loop time (a
 * fractional delay fires early, then re-arms for the rest), so the delay is rounded up, and a
 * timer may still fire up to a millisecond before the due time by the clock's `now()`: a tick
 * that close runs at once instead of re-arming. Either re-arm would cost a second wake-up per
 * tick, and wake-ups are most of what a call costs in CPU. Ticks land within about ±1 ms.
 *
 * The clock is the only owner of its schedule: whoever needs a tick later (a source following
 * a slow device) or sooner (playout shrinking its delay) asks the clock, which re-arms its one
 * timer. Time and timers are injectable so tests drive them.
 */
import { realTimers, type TimerHandle, type Timers } from './timers';

/** How early a tick may run: the granularity of Node's timers. */
const TOLERANCE_MS = 1;
/** Beyond this much lateness (a stalled process) the schedule restarts instead of bursting. */
const MAX_CATCH_UP_MS = 1000;

export interface FrameClockOptions {
  /**
   * true (default): ticks missed during a stall are delivered at once, keeping the count exact
   * (right for a source). false: missed ticks are skipped and counted (right for playout into a
   * device, where a burst would sit in the device's buffer as lasting latency).
   */
  catchUp?: boolean;
  /** Time and timers; the real ones unless given. */
  timers?: Timers;
}

export class FrameClock {
  private timer: TimerHandle | undefined;
  private startedAt = 0;
  private ticks = 0;
  private running = false;
  private missed = 0;
  private readonly timers: Timers;

  constructor(
    readonly periodMs: number,
    private readonly onTick: () => void,
    private readonly opts: FrameClockOptions = {},
  ) {
    if (!(periodMs > 0)) throw new Error(`clock period must be positive, got ${periodMs}`);
    this.timers = opts.timers ?? realTimers;
  }

  /** Ticks `firstInMs` from now (at once by default) and then every period. */
  start(firstInMs = 0): void {
    if (this.running) return;
    this.running = true;
    this.startedAt = this.timers.now() + Math.max(0, firstInMs);
    this.ticks = 0;
    this.missed = 0;
    if (firstInMs > 0) this.arm();
    else this.run();
  }

  stop(): void {
    this.running = false;
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /**
   * Moves the rest of the schedule later by `ms`: lets a source follow a device that delivers
   * later than our clock expected.
   */
  delay(ms: number): void {
    if (!this.running || !(ms > 0)) return;
    this.startedAt += ms;
    this.rearm();
  }

  /**
   * Brings the next tick, and the rest of the schedule, `ms` sooner (less than a period): lets
   * playout take a sub-frame excess off its delay. A tick that thereby falls due runs at once.
   */
  sooner(ms: number): void {
    if (!this.running || !(ms > 0)) return;
    this.startedAt -= Math.min(ms, this.periodMs);
    this.rearm();
  }

  /**
   * Runs the next tick now if it is due within `leadMs`, and returns whether it did: lets a
   * source hand on what is ready a little early, while still never more than `leadMs` ahead.
   */
  tickEarly(leadMs: number): boolean {
    if (!this.running || this.due() - this.timers.now() > leadMs) return false;
    this.ticks++;
    this.onTick();
    this.rearm();
    return true;
  }

  /** Ticks since start: delivered, plus skipped ones without catchUp. */
  get count(): number {
    return this.ticks;
  }

  /** Ticks skipped because they were more than a period late (only without catchUp). */
  get skipped(): number {
    return this.missed;
  }

  /** Re-arms the pending timer for the current due time (inside a tick, run() arms it after). */
  private rearm(): void {
    if (!this.running || !this.timer) return;
    this.timers.clearTimeout(this.timer);
    this.arm();
  }

  private arm(): void {
    this.timer = this.timers.setTimeout(this.run, Math.max(0, Math.ceil(this.due() - this.timers.now())));
  }

  private due(): number {
    return this.startedAt + this.ticks * this.periodMs;
  }

  private run = (): void => {
    this.timer = undefined;
    let now = this.timers.now();
    if (now - this.due() > MAX_CATCH_UP_MS) {
      this.startedAt = now - this.ticks * this.periodMs;
    } else if (this.opts.catchUp === false && now - this.due() >= this.periodMs) {
      const late = Math.floor((now - this.due()) / this.periodMs);
      this.ticks += late;
      this.missed += late;
    }
    while (this.running && this.due() - now <= TOLERANCE_MS) {
      this.ticks++;
      this.onTick();
      now = this.timers.now();
    }
    if (this.running && !this.timer) this.arm();
  };
}
