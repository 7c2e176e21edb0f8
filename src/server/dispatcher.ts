import {
  MAX_BAD_LINES,
  PROTOCOL_VERSION,
  isValidName,
  parseClientMessage,
  type ClientMessage,
  type ClientMessageOf,
  type ErrorCode,
  type LineEvent,
  type ServerMessageOf,
  type UserStatus,
} from '../protocol';
import type { CallBroker, Ending } from './call-broker';
import type { Clock } from './clock';
import type { Connection } from './connection';
import { mintId } from './ids';
import { lineCost, pageCost, type ServerLimits } from './limits';
import type { Logger } from './logger';
import type { Failure } from './refusals';
import type { Registry, Session } from './registry';
import { unmapped } from './turn/ip';
import type { TurnIssuer } from './turn/issuer';
import { NameClaims } from './name-claims';

type Req = ClientMessage['req'];

/** Errors that mean the client is misbehaving: they count towards the bad-line limit like malformed lines. */
const STRIKES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'not_registered',
  'already_registered',
  'no_such_call',
  'wrong_state',
  'unsupported_version',
  'rate_limited',
]);

/** Turns each line a client sends into registry and broker actions, and replies. */
export class Dispatcher {
  /** Whether the line being handled drew a strike (handling is synchronous, one line at a time). */
  private strike = false;

  constructor(
    private readonly registry: Registry,
    private readonly broker: CallBroker,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly limits: ServerLimits,
    private readonly udpPort: () => number,
    private readonly claims = new NameClaims(false),
    private readonly turn?: TurnIssuer,
  ) {}

  /** One line from a client. Whatever goes wrong in handling it stays with that line and that connection. */
  handle(conn: Connection, ev: LineEvent): void {
    if (conn.state.phase === 'closing') return;
    const now = this.clock.now();
    conn.lastSeen = now;
    if (ev.kind === 'oversize') {
      conn.charge(lineCost(ev.bytes), now);
      return this.bad(conn, 'too_large', `line of ${ev.bytes} bytes is over the limit`);
    }
    conn.charge(lineCost(ev.line.length), now);
    const parsed = parseClientMessage(ev.line);
    if (!parsed.ok) return this.bad(conn, parsed.code, parsed.message, parsed.req);
    this.strike = false;
    try {
      this.dispatch(conn, parsed.msg, now);
    } catch (err) {
      this.log.error('failed handling a line', { remote: conn.remote, name: conn.session?.name, type: parsed.msg.type, error: (err as Error)?.stack ?? String(err) });
      conn.send({ type: 'error', req: parsed.msg.req, code: 'server_error', message: 'the server failed handling that request; it was not done' });
      return;
    }
    if (!this.strike) conn.badLines = 0;
  }

  private dispatch(conn: Connection, msg: ClientMessage, now: number): void {
    if (msg.type === 'ping') return conn.send({ type: 'pong', req: msg.req });
    if (msg.type === 'hello') return this.hello(conn, msg);
    if (msg.type === 'challenge') return conn.send({ type: 'challenge', req: msg.req, nonce: this.claims.challenge(conn) });
    const session = conn.session;
    if (!session) return this.error(conn, msg.req, 'not_registered', 'say hello with a name first');
    switch (msg.type) {
      case 'list': {
        const limit = Math.min(msg.limit ?? this.limits.listPageSize, this.limits.listPageSize);
        const page = this.registry.page(msg.after, limit);
        const users = page.sessions.map((s) => ({ name: s.name, status: this.status(s) }));
        conn.charge(pageCost(users.length), now);
        return conn.send({ type: 'users', req: msg.req, users, more: page.more });
      }
      case 'lookup': {
        const found = this.registry.find(msg.name);
        if (!found) return this.error(conn, msg.req, 'not_found', `no user named "${clip(msg.name)}" is online`);
        return conn.send({ type: 'user', req: msg.req, name: found.name, status: this.status(found) });
      }
      case 'call': {
        const callee = this.registry.find(msg.to);
        if (!callee) return this.error(conn, msg.req, 'not_found', `no user named "${clip(msg.to)}" is online`);
        const r = this.broker.start(session, callee, msg.offer);
        if ('code' in r) return this.fail(conn, msg.req, r);
        const turn = this.turn?.offer(r.id, session);
        return conn.send(turn ? { type: 'ringing', req: msg.req, call: r.id, to: callee.name, turn } : { type: 'ringing', req: msg.req, call: r.id, to: callee.name });
      }
      case 'answer': {
        if (msg.accept && !msg.answer) return this.bad(conn, 'bad_request', 'answer: accepting needs an "answer" body', msg.req);
        const reply = msg.accept
          ? { accept: true as const, answer: msg.answer ?? {} }
          : { accept: false as const, ...ending(msg.reason ?? 'declined', msg.cause) };
        return this.ack(conn, msg.req, this.broker.answer(session, msg.call, reply));
      }
      case 'cancel':
        return this.ack(conn, msg.req, this.broker.cancel(session, msg.call));
      case 'hangup':
        return this.ack(conn, msg.req, this.broker.hangup(session, msg.call, ending(msg.reason ?? 'hangup', msg.cause)));
      case 'candidate':
        return this.ack(conn, msg.req, this.broker.candidate(session, msg.call, msg.candidate));
    }
  }

  /** A session's connection is closing: free the name and end its call. */
  left(session: Session, why: string, remote: string): void {
    this.broker.gone(session);
    this.registry.release(session);
    if (why === 'slow_consumer') this.log.warn('dropped a client that stopped reading its messages', { name: session.name, remote, reason: why });
    this.log.info('left', { name: session.name, id: session.id, remote, reason: why });
  }

  status(s: Session): UserStatus {
    const phase = this.broker.phaseOf(s);
    return phase === 'ringing' ? 'ringing' : phase === 'active' ? 'in-call' : 'idle';
  }

  private hello(conn: Connection, msg: ClientMessageOf<'hello'>): void {
    if (conn.session) return this.error(conn, msg.req, 'already_registered', `already registered as ${conn.session.name}`);
    if (msg.version !== PROTOCOL_VERSION) {
      return this.error(conn, msg.req, 'unsupported_version', `this server speaks protocol version ${PROTOCOL_VERSION}, not ${msg.version}`);
    }
    if (!isValidName(msg.name)) {
      return this.error(conn, msg.req, 'bad_name', 'a name is 1 to 32 letters, digits, ".", "_" or "-"');
    }
    const claim = this.claims.check(conn, msg.name, msg.identity);
    if (!claim.ok) return this.error(conn, msg.req, claim.code, claim.message);
    const session: Session = {
      id: mintId(),
      name: msg.name,
      address: unmapped(conn.address),
      localAddress: unmapped(conn.socket.localAddress ?? ''),
      callId: null,
      send: (m) => conn.send(m),
      backlog: () => conn.backlog,
    };
    if (!this.registry.claim(session)) {
      return this.error(conn, msg.req, 'name_taken', `the name "${msg.name}" is taken: choose another`);
    }
    this.claims.bind(msg.name, claim.key);
    conn.state = { phase: 'registered', session };
    conn.send({ type: 'welcome', req: msg.req, id: session.id, name: session.name, udpPort: this.udpPort(), version: PROTOCOL_VERSION });
    this.log.info('registered', { name: session.name, id: session.id, remote: conn.remote });
  }

  private ack(conn: Connection, req: Req, failure: Failure | null): void {
    if (failure) this.fail(conn, req, failure);
    else conn.send({ type: 'ok', req });
  }

  private fail(conn: Connection, req: Req, f: Failure): void {
    this.error(conn, req, f.code, f.message, f.retryAfterMs);
  }

  private error(conn: Connection, req: Req, code: ErrorCode, message: string, retryAfterMs?: number): void {
    if (STRIKES.has(code)) {
      this.strike = true;
      return this.bad(conn, code, message, req, retryAfterMs);
    }
    conn.send(errorReply(req, code, message, retryAfterMs));
  }

  private bad(conn: Connection, code: ErrorCode, message: string, req?: Req, retryAfterMs?: number): void {
    conn.badLines++;
    this.log.debug('bad line', { remote: conn.remote, name: conn.session?.name, code, detail: message });
    if (conn.badLines >= MAX_BAD_LINES) {
      this.log.warn('disconnecting a client: too many bad lines in a row', { remote: conn.remote, name: conn.session?.name, reason: 'too_many_errors', last: code });
      conn.fail('too_many_errors', `${MAX_BAD_LINES} bad lines in a row (last: ${message}); closing the connection`);
      return;
    }
    conn.send(errorReply(req, code, message, retryAfterMs));
  }
}

function errorReply(req: Req, code: ErrorCode, message: string, retryAfterMs: number | undefined): ServerMessageOf<'error'> {
  return retryAfterMs === undefined ? { type: 'error', req, code, message } : { type: 'error', req, code, message, retryAfterMs };
}

/** An answer's or hang-up's reason, with the cause code kept only for `failed`. */
function ending(reason: Ending['reason'], cause: ClientMessageOf<'hangup'>['cause']): Ending {
  return reason === 'failed' ? (cause ? { reason, cause } : { reason }) : { reason };
}

function clip(s: string): string {
  return s.length > 40 ? s.slice(0, 40) + '…' : s;
}
