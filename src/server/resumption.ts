import { randomBytes } from 'node:crypto';
import type { ServerMessage } from '../protocol';
import type { Clock, ClockTimer } from './clock';
import type { Connection } from './connection';
import type { Session } from './registry';

/** What a session's connection going away leaves it: held for the grace, or gone. */
export const DEFAULT_RESUME_GRACE_MS = 30_000;

/** Messages kept for a session while it is away; past this the oldest go (its call's ending is what matters). */
const AWAY_QUEUE = 32;

/**
 * Sessions held at once, per source address and in all. A held session costs no connection, so
 * without these a client could reserve names by the thousand by registering and leaving; past
 * them a dropped session leaves at once, as before there was a grace.
 */
export interface HoldLimits {
  perAddress: number;
  total: number;
}
export const DEFAULT_HOLD_LIMITS: HoldLimits = { perAddress: 16, total: 10_000 };

/**
 * A session's tie to its connection. `live`: messages go to `conn`; `away`: the connection went,
 * messages wait in `queue` until a `hello` with the token takes the session back or the grace
 * runs out (then the session leaves as if its connection had just closed).
 */
type Tie =
  | { phase: 'live'; session: Session; token: string; conn: Connection }
  | { phase: 'away'; session: Session; token: string; queue: ServerMessage[]; timer: ClockTimer };

/**
 * Resume tokens: each session gets a fresh random one with every `welcome` (144 bits), and a
 * session whose connection drops is held for the grace, its name reserved, so the same client
 * can take it back from a new connection. Holds no names itself (the registry does).
 */
export class Resumption {
  private readonly byToken = new Map<string, Tie>();
  private readonly bySession = new Map<Session, Tie>();
  /** Held sessions per source address. */
  private readonly awayFrom = new Map<string, number>();
  private awayCount = 0;

  constructor(
    readonly graceMs: number,
    private readonly clock: Clock,
    /** The grace ran out: the session leaves for good. */
    private readonly expired: (session: Session) => void,
    private readonly limits: HoldLimits = DEFAULT_HOLD_LIMITS,
  ) {}

  /** Sessions held for their grace right now. */
  get held(): number {
    return this.awayCount;
  }

  /** A new session tied to `conn`; `make` gets the send and backlog that follow the tie. */
  open(conn: Connection, make: (send: Session['send'], backlog: Session['backlog']) => Session): Session {
    // Looked up at each send: a resume ties the session to another connection.
    const send = (m: ServerMessage) => {
      const tie = this.bySession.get(session);
      if (tie?.phase === 'live') tie.conn.send(m);
      else if (tie && tie.queue.push(m) > AWAY_QUEUE) tie.queue.shift();
    };
    const backlog = () => {
      const tie = this.bySession.get(session);
      return tie?.phase === 'live' ? tie.conn.backlog : 0;
    };
    const session = make(send, backlog);
    this.index({ phase: 'live', session, token: newToken(), conn });
    return session;
  }

  tokenOf(session: Session): string | undefined {
    return this.bySession.get(session)?.token;
  }

  isAway(session: Session): boolean {
    return this.bySession.get(session)?.phase === 'away';
  }

  /** The session's connection went: hold it for the grace. False when there is no grace (it leaves now). */
  hold(session: Session): boolean {
    const tie = this.bySession.get(session);
    if (!tie || tie.phase !== 'live' || this.graceMs <= 0) return false;
    if (this.awayCount >= this.limits.total || (this.awayFrom.get(session.address ?? '') ?? 0) >= this.limits.perAddress) return false;
    const timer = this.clock.setTimeout(() => {
      this.forget(session);
      this.expired(session);
    }, this.graceMs);
    this.index({ phase: 'away', session, token: tie.token, queue: [], timer });
    return true;
  }

  /**
   * A `hello` presenting `token` for `name`: the session it names, now tied to `conn` under a new
   * token, with the messages it missed and the connection it had (still open when the server had
   * not noticed the drop yet: the caller cuts it). Null for an unknown token or another name.
   */
  take(token: string, name: string, conn: Connection): { session: Session; missed: ServerMessage[]; old: Connection | null } | null {
    const tie = this.byToken.get(token);
    if (!tie || tie.session.name.toLowerCase() !== name.toLowerCase()) return null;
    this.byToken.delete(token);
    let missed: ServerMessage[] = [];
    let old: Connection | null = null;
    if (tie.phase === 'away') {
      this.clock.clearTimeout(tie.timer);
      missed = tie.queue;
    } else old = tie.conn;
    this.index({ phase: 'live', session: tie.session, token: newToken(), conn });
    return { session: tie.session, missed, old };
  }

  /** The session left for good (bye, or its grace ran out): its token is void. */
  forget(session: Session): void {
    const tie = this.bySession.get(session);
    if (!tie) return;
    if (tie.phase === 'away') {
      this.clock.clearTimeout(tie.timer);
      this.counted(session, -1);
    }
    this.bySession.delete(session);
    this.byToken.delete(tie.token);
  }

  /** Every held session's timer stops (server shutdown). */
  clear(): void {
    for (const tie of this.bySession.values()) if (tie.phase === 'away') this.clock.clearTimeout(tie.timer);
    this.bySession.clear();
    this.byToken.clear();
    this.awayFrom.clear();
    this.awayCount = 0;
  }

  private index(tie: Tie): void {
    const before = this.bySession.get(tie.session);
    if (before && before.token !== tie.token) this.byToken.delete(before.token);
    if (before?.phase === 'away') this.counted(before.session, -1);
    if (tie.phase === 'away') this.counted(tie.session, +1);
    this.bySession.set(tie.session, tie);
    this.byToken.set(tie.token, tie);
  }

  private counted(session: Session, by: 1 | -1): void {
    this.awayCount += by;
    const n = (this.awayFrom.get(session.address ?? '') ?? 0) + by;
    if (n > 0) this.awayFrom.set(session.address ?? "", n);
    else this.awayFrom.delete(session.address ?? '');
  }
}

/** 144 random bits, URL-safe base64 (24 characters). */
function newToken(): string {
  return randomBytes(18).toString('base64url');
}
