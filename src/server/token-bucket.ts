/** A refill rate and how much may be saved up. */
export interface Rate {
  /** Tokens added per second. */
  perSecond: number;
  /** The most tokens held: the largest burst allowed after a quiet spell. */
  burst: number;
}

/**
 * A token bucket: allows bursts up to `burst`, and `perSecond` on average. Time is passed in
 * (from the server's clock), so a bucket holds no timer and costs two numbers.
 */
export class TokenBucket {
  private level: number;
  private stamp: number;

  constructor(
    private readonly rate: Rate,
    now: number,
  ) {
    this.level = rate.burst;
    this.stamp = now;
  }

  /** Takes `cost` even when that goes below zero (debt paid back by waiting); returns the level left. */
  charge(cost: number, now: number): number {
    this.refill(now);
    this.level -= cost;
    return this.level;
  }

  /** Takes `cost` only if it is there: 0 when taken, else the milliseconds until it will be. */
  take(cost: number, now: number): number {
    this.refill(now);
    if (this.level >= cost) {
      this.level -= cost;
      return 0;
    }
    return this.msUntil(cost, now);
  }

  /** Milliseconds from `now` until the level is back to `level`. */
  msUntil(level: number, now: number): number {
    this.refill(now);
    return this.level >= level ? 0 : Math.ceil(((level - this.level) * 1000) / this.rate.perSecond);
  }

  private refill(now: number): void {
    const elapsed = now - this.stamp;
    if (elapsed <= 0) return;
    this.stamp = now;
    this.level = Math.min(this.rate.burst, this.level + (elapsed * this.rate.perSecond) / 1000);
  }
}
