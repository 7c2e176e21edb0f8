import type { Clock } from '../clock';
import type { ServerLimits } from '../limits';
import type { Session } from '../registry';
import { rateLimited, type Failure } from '../refusals';
import { TokenBucket, type Rate } from '../token-bucket';

type Kind = 'start' | 'key' | 'join' | 'signal';

/**
 * Each session's budget for room requests, one token bucket a kind. Held weakly by session: a
 * session that goes takes its buckets with it, and leaving a room does not refill them.
 */
export class RoomLimits {
  private readonly buckets = new WeakMap<Session, Record<Kind, TokenBucket>>();
  private readonly rates: Record<Kind, Rate>;

  constructor(
    limits: ServerLimits,
    private readonly clock: Clock,
  ) {
    // Signals come at the pace of keys (one to each member when media starts, a few trickled after): the same rate, a bucket of their own.
    this.rates = { start: limits.roomStarts, key: limits.roomKeys, join: limits.roomJoins, signal: limits.roomKeys };
  }

  /** Takes one request of `kind` from the session's budget: null, or the rate_limited refusal. */
  take(session: Session, kind: Kind): Failure | null {
    const now = this.clock.now();
    let b = this.buckets.get(session);
    if (!b) {
      const bucket = (k: Kind) => new TokenBucket(this.rates[k], now);
      b = { start: bucket('start'), key: bucket('key'), join: bucket('join'), signal: bucket('signal') };
      this.buckets.set(session, b);
    }
    const wait = b[kind].take(1, now);
    return wait === 0 ? null : rateLimited(WHAT[kind], wait);
  }
}

const WHAT: Record<Kind, string> = {
  start: 'too many rounds started',
  key: 'too many sender keys sent',
  join: 'too many rooms joined or created',
  signal: 'too many media signals sent',
};
