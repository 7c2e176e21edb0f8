import type { Clock } from './clock';
import type { ServerLimits } from './limits';
import type { Session } from './registry';
import { rateLimited, type Failure } from './refusals';
import { TokenBucket } from './token-bucket';

/** The most (caller, callee) pairs whose declines are remembered; the oldest are forgotten first. */
const MAX_DECLINE_RECORDS = 100_000;

interface Declines {
  /** Declines in a row within the current window, and when the window began. */
  count: number;
  since: number;
  /** Calls from this caller to this callee are refused until then. */
  blockedUntil: number;
}

/**
 * Limits on ringing: how fast a session may place calls, how fast one may be rung (by everyone
 * together), and a pause for a caller its callee keeps declining. Only calls that would ring
 * are counted: a `busy` or `not_found` costs the caller nothing here.
 */
export class RingLimits {
  private readonly placed = new WeakMap<Session, TokenBucket>();
  private readonly received = new WeakMap<Session, TokenBucket>();
  private readonly declines = new Map<string, Declines>();

  constructor(
    private readonly limits: ServerLimits,
    private readonly clock: Clock,
  ) {}

  /** Counts a ring from `caller` to `callee`, or refuses it. */
  ring(caller: Session, callee: Session): Failure | null {
    const now = this.clock.now();
    if (this.declines.size > 0) {
      const d = this.declines.get(pairKey(caller, callee));
      if (d && d.blockedUntil > now) {
        return rateLimited(`${callee.name} declined your last ${this.limits.declinedCalls} calls`, d.blockedUntil - now);
      }
    }
    const placed = bucket(this.placed, caller, this.limits.callsPlaced, now);
    const received = bucket(this.received, callee, this.limits.callsReceived, now);
    const callerWait = placed.msUntil(1, now);
    if (callerWait > 0) return rateLimited('you are placing calls too fast', callerWait);
    const calleeWait = received.msUntil(1, now);
    if (calleeWait > 0) return rateLimited(`${callee.name} is being called too often`, calleeWait);
    placed.charge(1, now);
    received.charge(1, now);
    return null;
  }

  /** The callee declined: enough of these in a row and the caller must wait before calling it again. */
  declined(caller: Session, callee: Session): void {
    const now = this.clock.now();
    const key = pairKey(caller, callee);
    let d = this.declines.get(key);
    if (!d || now - d.since > this.limits.declinedWindowMs) {
      this.declines.delete(key);
      if (this.declines.size >= MAX_DECLINE_RECORDS) this.declines.delete(this.declines.keys().next().value!);
      d = { count: 0, since: now, blockedUntil: 0 };
      this.declines.set(key, d);
    }
    if (++d.count >= this.limits.declinedCalls) {
      d.blockedUntil = now + this.limits.declinedBlockMs;
      d.count = 0;
      d.since = now;
    }
  }

  /** The callee accepted: the run of declines is over. */
  accepted(caller: Session, callee: Session): void {
    if (this.declines.size > 0) this.declines.delete(pairKey(caller, callee));
  }

  /** Forgets what no longer matters (run from the server's sweep). */
  prune(): void {
    const now = this.clock.now();
    for (const [key, d] of this.declines) {
      if (d.blockedUntil <= now && now - d.since > this.limits.declinedWindowMs) this.declines.delete(key);
    }
  }
}

function bucket(map: WeakMap<Session, TokenBucket>, session: Session, rate: ServerLimits['callsPlaced'], now: number): TokenBucket {
  let b = map.get(session);
  if (!b) map.set(session, (b = new TokenBucket(rate, now)));
  return b;
}

/** Keyed by names, not sessions: reconnecting under the same name does not wipe the slate. */
function pairKey(caller: Session, callee: Session): string {
  return `${caller.name.toLowerCase()}\n${callee.name.toLowerCase()}`;
}
