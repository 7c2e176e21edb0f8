/**
 * The time a clock reads and the timers it arms, behind one small interface: the real ones by
 * default, a hand-driven one in tests, so a test moves time instead of waiting for it.
 */
import { performance } from 'node:perf_hooks';

/** What a pending timer must offer: Node's own Timeout fits. */
export interface TimerHandle {
  /** Lets the process exit while the timer is pending. */
  unref(): unknown;
}

export interface Timers {
  /** Milliseconds on a monotonic clock (performance.now() for the real one). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

export const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};
