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
import type { Resumption } from './resumption';
import { unmapped } from './turn/ip';
import type { TurnIssuer } from './turn/issuer';
import { NameClaims } from './name-claims';
import type { RoomBroker } from './rooms/room-broker';

type Req = ClientMessage['req'];

/** Errors that mean the client is misbehaving: they count towards the bad-line limit like malformed lines. */
const STRIKES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'not_registered',
  'already_registered',
  'no_such_call',
  'wrong_state',
  'unsupported_version',
  'rate_limited',
  'no_such_room',
  'not_owner',
]);

/**
 * Why a connection went that holds its session for the resume grace: the network, not the client
 * (`bye`) nor the server (shutdown, or a client cut off for flooding or not reading) ended it.
 */
const HELD_ON: ReadonlySet<string> = new Set(['disconnected', 'heartbeat_timeout']);

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
    private readonly resumption: Resumption,
    private readonly claims: NameClaims,
    private readonly rooms: RoomBroker,
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
      case 'bye':
        // Leaving for good: no grace. The connection closes once the reply is out.
        this.resumption.forget(session);
        conn.send({ type: 'ok', req: msg.req });
        conn.leave('bye');
        conn.socket.end();
        return;
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
      case 'room.create': {
        const r = this.rooms.create(session, msg.room, msg.key);
        return 'code' in r ? this.fail(conn, msg.req, r) : conn.send({ type: 'room.created', req: msg.req, ...r });
      }
      case 'room.join': {
        const r = this.rooms.join(session, msg.room, msg.key);
        return 'code' in r ? this.fail(conn, msg.req, r) : conn.send({ type: 'room.joined', req: msg.req, ...r });
      }
      case 'room.leave':
        return this.ack(conn, msg.req, this.rooms.leave(session, msg.room));
      case 'room.start':
        return this.ack(conn, msg.req, this.rooms.start(session, msg.room, msg.offer));
      case 'room.ack':
        return this.ack(conn, msg.req, this.rooms.ack(session, msg.room, msg.round));
      case 'room.nack':
        if (!msg.counter) return this.bad(conn, 'bad_request', 'a nack needs a counter-proposal ("counter"): what you could take instead', msg.req);
        return this.ack(conn, msg.req, this.rooms.nack(session, msg.room, msg.round, msg.counter));
      case 'room.key':
        return this.ack(conn, msg.req, this.rooms.key(session, msg.room, msg.to, msg.epoch, msg.sealed));
      case 'room.signal':
        return this.ack(conn, msg.req, this.rooms.signal(session, msg.room, msg.to, msg.body));
    }
  }

  /**
   * A session's connection is closing. When it dropped or fell silent (HELD_ON), the session is
   * held for the resume grace: its name stays reserved and a live call goes on.
   * Otherwise, or when the grace runs out (expire), the name is freed and its call ends.
   */
  left(session: Session, why: string, remote: string): void {
    // A room member is out at once, grace or not: the others re-key without it, and a resumed
    // session joins again.
    this.rooms.remove(session, why === 'bye' ? 'left' : 'disconnected');
    if (why === 'slow_consumer') this.log.warn('dropped a client that stopped reading its messages', { name: session.name, remote, reason: why });
    if (HELD_ON.has(why) && this.resumption.hold(session)) {
      this.broker.away(session);
      this.log.info('away', { name: session.name, id: session.id, remote, reason: why, grace_ms: this.resumption.graceMs });
      return;
    }
    this.resumption.forget(session);
    this.expire(session, why, remote);
  }

  /** The session leaves for good: its call ends for the other party and its name is freed. */
  expire(session: Session, why: string, remote?: string): void {
    this.rooms.remove(session, 'left');
    this.broker.gone(session);
    this.registry.release(session);
    this.log.info('left', { name: session.name, id: session.id, remote, reason: why });
  }

  status(s: Session): UserStatus {
    const phase = this.broker.phaseOf(s);
    if (phase === 'ringing') return 'ringing';
    return phase === 'active' || this.rooms.inRoom(s) ? 'in-call' : 'idle';
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
    // A token this server does not know (it restarted, or the grace ran out) is no error: the
    // hello goes on as a fresh registration of the same name.
    if (msg.resume !== undefined && this.resume(conn, msg.resume, msg.name, msg.req)) return;
    const fields = { id: mintId(), name: msg.name, address: unmapped(conn.address), localAddress: unmapped(conn.socket.localAddress ?? ''), callId: null };
    const session = this.resumption.open(conn, (send, backlog) => ({ ...fields, send, backlog }));
    if (!this.registry.claim(session)) {
      this.resumption.forget(session);
      return this.error(conn, msg.req, 'name_taken', `the name "${msg.name}" is taken: choose another`);
    }
    this.claims.bind(msg.name, claim.key);
    conn.state = { phase: 'registered', session };
    const resume = this.resumption.tokenOf(session);
    conn.send({ type: 'welcome', req: msg.req, id: session.id, name: session.name, udpPort: this.udpPort(), version: PROTOCOL_VERSION, resume });
    this.log.info('registered', { name: session.name, id: session.id, remote: conn.remote });
  }

  /** `hello` with a resume token this server issued for this name: the session comes back to this connection. */
  private resume(conn: Connection, token: string, name: string, req: Req): boolean {
    const back = this.resumption.take(token, name, conn);
    if (!back) return false;
    const { session, missed, old } = back;
    // The server had not noticed the drop yet: the old connection is cut without leaving.
    old?.detach();
    conn.state = { phase: 'registered', session };
    const welcome = { type: 'welcome' as const, req, id: session.id, name: session.name, udpPort: this.udpPort(), version: PROTOCOL_VERSION };
    const resume = this.resumption.tokenOf(session);
    conn.send(session.callId ? { ...welcome, resume, resumed: true, call: session.callId } : { ...welcome, resume, resumed: true });
    for (const m of missed) conn.send(m);
    if (!old) this.broker.back(session);
    this.log.info('resumed', { name: session.name, id: session.id, remote: conn.remote, missed: missed.length });
    return true;
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
