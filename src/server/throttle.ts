import type { Clock, ClockTimer } from './clock';

/** Something paused until a moment: a connection over its request budget. */
export interface Resumable {
  resume(): void;
}

/**
 * Connections that are not being read until their budget has refilled. One timer serves all of
 * them (set for the earliest), so a thousand throttled connections cost no thousand timers.
 */
export class Throttle {
  private readonly held = new Map<Resumable, number>();
  private timer: ClockTimer | null = null;
  private timerAt = Infinity;

  constructor(private readonly clock: Clock) {}

  get size(): number {
    return this.held.size;
  }

  /** Resumes `who` at `at` (on the clock's scale). */
  hold(who: Resumable, at: number): void {
    this.held.set(who, at);
    if (at < this.timerAt) this.schedule(at);
  }

  /** Forgets `who` (it closed). */
  release(who: Resumable): void {
    this.held.delete(who);
  }

  clear(): void {
    this.held.clear();
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  private schedule(at: number): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(1, at - this.clock.now()));
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.clock.now();
    let next = Infinity;
    for (const [who, at] of this.held) {
      if (at <= now) {
        this.held.delete(who);
        // It may hold itself again, later than now: the loop then meets it once more, not due.
        who.resume();
      } else if (at < next) {
        next = at;
      }
    }
    if (next < this.timerAt) this.schedule(next);
  }
}
