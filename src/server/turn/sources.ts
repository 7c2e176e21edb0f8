import type { Clock } from '../clock';
import { TokenBucket, type Rate } from '../token-bucket';

/** How many source addresses are tracked at once; past it the oldest is forgotten. */
const MAX_SOURCES = 4096;

/**
 * A request budget per source IP, so one sender flooding requests (each costs an HMAC and an
 * answer) is cut off, not the relay. Bounded: the least recently seen source is evicted.
 */
export class SourceLimits {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly rate: Rate,
    private readonly clock: Clock,
  ) {}

  admit(ip: string): boolean {
    const now = this.clock.now();
    let b = this.buckets.get(ip);
    if (b) this.buckets.delete(ip);
    else {
      if (this.buckets.size >= MAX_SOURCES) this.buckets.delete(this.buckets.keys().next().value as string);
      b = new TokenBucket(this.rate, now);
    }
    this.buckets.set(ip, b);
    return b.take(1, now) === 0;
  }

  clear(): void {
    this.buckets.clear();
  }
}
