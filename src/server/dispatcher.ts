import {
  MAX_BAD_LINES,
  PROTOCOL_VERSION,
  isValidName,
  parseClientMessage,
  type ClientMessage,
  type ClientMessageOf,
  type ErrorCode,
  type LineEvent,
  type UserStatus,
} from '../protocol';
import { CallBroker } from './call-broker';
import type { Connection } from './connection';
import { mintId } from './ids';
import type { Logger } from './logger';
import type { Registry, Session } from './registry';

type Req = ClientMessage['req'];

/** Errors that mean the client is misbehaving: they count towards the bad-line limit like malformed lines. */
const STRIKES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['not_registered', 'already_registered', 'no_such_call', 'wrong_state', 'unsupported_version']);

/** Turns each line a client sends into registry and broker actions, and replies. */
export class Dispatcher {
  /** Whether the line being handled drew a strike (handling is synchronous, one line at a time). */
  private strike = false;

  constructor(
    private readonly registry: Registry,
    private readonly broker: CallBroker,
    private readonly log: Logger,
    private readonly udpPort: () => number,
  ) {}

  handle(conn: Connection, ev: LineEvent): void {
    if (conn.state.phase === 'closing') return;
    conn.lastSeen = Date.now();
    if (ev.kind === 'oversize') return this.bad(conn, 'too_large', `line of ${ev.bytes} bytes is over the limit`);
    const parsed = parseClientMessage(ev.line);
    if (!parsed.ok) return this.bad(conn, parsed.code, parsed.message, parsed.req);
    this.strike = false;
    this.dispatch(conn, parsed.msg);
    if (!this.strike) conn.badLines = 0;
  }

  private dispatch(conn: Connection, msg: ClientMessage): void {
    if (msg.type === 'ping') return conn.send({ type: 'pong', req: msg.req });
    if (msg.type === 'hello') return this.hello(conn, msg);
    const session = conn.session;
    if (!session) return this.error(conn, msg.req, 'not_registered', 'say hello with a name first');
    switch (msg.type) {
      case 'list':
        return conn.send({ type: 'users', req: msg.req, users: this.users() });
      case 'lookup': {
        const found = this.registry.find(msg.name);
        if (!found) return this.error(conn, msg.req, 'not_found', `no user named "${clip(msg.name)}" is online`);
        return conn.send({ type: 'user', req: msg.req, name: found.name, status: this.status(found) });
      }
      case 'call': {
        const callee = this.registry.find(msg.to);
        if (!callee) return this.error(conn, msg.req, 'not_found', `no user named "${clip(msg.to)}" is online`);
        const r = this.broker.start(session, callee, msg.offer);
        if ('code' in r) return this.error(conn, msg.req, r.code, r.message);
        return conn.send({ type: 'ringing', req: msg.req, call: r.id, to: callee.name });
      }
      case 'answer': {
        if (msg.accept && !msg.answer) return this.bad(conn, 'bad_request', 'answer: accepting needs an "answer" body', msg.req);
        const reply = msg.accept
          ? { accept: true as const, answer: msg.answer ?? {} }
          : { accept: false as const, reason: msg.reason ?? 'declined' };
        return this.ack(conn, msg.req, this.broker.answer(session, msg.call, reply));
      }
      case 'cancel':
        return this.ack(conn, msg.req, this.broker.cancel(session, msg.call));
      case 'hangup':
        return this.ack(conn, msg.req, this.broker.hangup(session, msg.call));
      case 'candidate':
        return this.ack(conn, msg.req, this.broker.candidate(session, msg.call, msg.candidate));
    }
  }

  /** A session's connection is closing: free the name and end its call. */
  left(session: Session, why: string): void {
    this.broker.gone(session);
    this.registry.release(session);
    if (why === 'slow_consumer') this.log.warn(`dropped ${session.name}: it stopped reading its messages`);
    this.log.info(`${session.name} left (${why})`, { id: session.id });
  }

  status(s: Session): UserStatus {
    const phase = this.broker.phaseOf(s);
    return phase === 'ringing' ? 'ringing' : phase === 'active' ? 'in-call' : 'idle';
  }

  private users() {
    const users = [];
    for (const s of this.registry.all()) users.push({ name: s.name, status: this.status(s) });
    return users.sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : 1));
  }

  private hello(conn: Connection, msg: ClientMessageOf<'hello'>): void {
    if (conn.session) return this.error(conn, msg.req, 'already_registered', `already registered as ${conn.session.name}`);
    if (msg.version !== PROTOCOL_VERSION) {
      return this.error(conn, msg.req, 'unsupported_version', `this server speaks protocol version ${PROTOCOL_VERSION}, not ${msg.version}`);
    }
    if (!isValidName(msg.name)) {
      return this.error(conn, msg.req, 'bad_name', 'a name is 1 to 32 letters, digits, ".", "_" or "-"');
    }
    const session: Session = { id: mintId(), name: msg.name, callId: null, send: (m) => conn.send(m) };
    if (!this.registry.claim(session)) {
      return this.error(conn, msg.req, 'name_taken', `the name "${msg.name}" is taken: choose another`);
    }
    conn.state = { phase: 'registered', session };
    conn.send({ type: 'welcome', req: msg.req, id: session.id, name: session.name, udpPort: this.udpPort(), version: PROTOCOL_VERSION });
    this.log.info(`${session.name} registered`, { id: session.id, from: conn.remote });
  }

  private ack(conn: Connection, req: Req, failure: { code: ErrorCode; message: string } | null): void {
    if (failure) this.error(conn, req, failure.code, failure.message);
    else conn.send({ type: 'ok', req });
  }

  private error(conn: Connection, req: Req, code: ErrorCode, message: string): void {
    if (STRIKES.has(code)) {
      this.strike = true;
      return this.bad(conn, code, message, req);
    }
    conn.send({ type: 'error', req, code, message });
  }

  private bad(conn: Connection, code: ErrorCode, message: string, req?: Req): void {
    conn.badLines++;
    this.log.debug(`bad line from ${conn.remote}: ${message}`);
    if (conn.badLines >= MAX_BAD_LINES) {
      this.log.warn(`disconnecting ${conn.session?.name ?? conn.remote}: ${MAX_BAD_LINES} bad lines in a row`);
      conn.fail('too_many_errors', `${MAX_BAD_LINES} bad lines in a row (last: ${message}); closing the connection`);
      return;
    }
    conn.send({ type: 'error', req, code, message });
  }
}

function clip(s: string): string {
  return s.length > 40 ? s.slice(0, 40) + '…' : s;
}
