import type { Clock, ClockTimer } from '../../src/server/clock';

/**
 * Time that moves only when a test says so: `advance(ms)` runs every timer that falls due on
 * the way, in order (timers set by those timers included), so a 30 s ring timeout takes no time
 * and no wall-clock bound enters a test.
 */
export class ManualClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly timers = new Map<ClockTimer, { at: number; seq: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    const timer = {};
    this.timers.set(timer, { at: this.t + Math.max(0, ms), seq: this.seq++, fn });
    return timer;
  }

  clearTimeout(timer: ClockTimer): void {
    this.timers.delete(timer);
  }

  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let due: [ClockTimer, { at: number; seq: number; fn: () => void }] | null = null;
      for (const entry of this.timers) {
        const [, e] = entry;
        if (e.at <= end && (!due || e.at < due[1].at || (e.at === due[1].at && e.seq < due[1].seq))) due = entry;
      }
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = end;
  }

  /** Timers waiting to run. */
  get pending(): number {
    return this.timers.size;
  }
}
