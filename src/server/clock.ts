/**
 * Time as the server sees it: the ring timer, the sweep, rate limits and token buckets all read
 * and schedule through one of these, so tests can drive time instead of waiting for it
 * (the shape of undici's lib/util/timers.js).
 */
export interface Clock {
  /** Milliseconds on a monotonic scale; only differences mean anything. */
  now(): number;
  setTimeout(fn: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer): void;
}

/** A scheduled callback, opaque to its user. */
export type ClockTimer = object;

/** Real time. Its timers do not keep the process alive: the listening socket does that. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
};
