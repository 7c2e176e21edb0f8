import type net from 'node:net';
import { EventEmitter } from 'node:events';
import {
  LineDecoder,
  PROTOCOL_VERSION,
  parseServerMessage,
  type ClientMessage,
  type EndReason,
  type ErrorCode,
  type ServerMessage,
  type ServerMessageOf,
  type UserInfo,
} from '../protocol';
import type { FailureCause } from './call-reasons';
import { hostPort, openServerSocket, type TlsOptions } from './server-socket';
import { withSafeText } from './terminal-text';

/** The server answered a request with `error`. */
export class SignalingError extends Error {
  constructor(
    readonly code: ErrorCode | 'disconnected' | 'timeout',
    message: string,
  ) {
    super(message);
    this.name = 'SignalingError';
  }
}

export { ConnectError, ServerTrustError, hostPort, type TlsOptions } from './server-socket';

export interface ConnectOptions {
  host?: string;
  port?: number;
  /** Give up connecting after this long. */
  timeoutMs?: number;
  /** Reply timeout for requests. */
  requestTimeoutMs?: number;
  /** How often to ping so the server knows this client is alive. */
  heartbeatMs?: number;
  /** Speak TLS, trusting the system's CAs, or the CA or public key given. */
  tls?: TlsOptions;
}

/** The server's messages about calls, as events: a signaling connection's, and a server link's across reconnects. */
export interface CallMessageEvents {
  incoming: [ServerMessageOf<'incoming'>];
  accepted: [ServerMessageOf<'accepted'>];
  rejected: [ServerMessageOf<'rejected'>];
  ended: [ServerMessageOf<'ended'>];
  candidate: [ServerMessageOf<'candidate'>];
  peer_reconnecting: [ServerMessageOf<'peer_reconnecting'>];
  peer_reconnected: [ServerMessageOf<'peer_reconnected'>];
}

/** What the server pushes about the room this client is in (src/protocol/rooms.ts). */
export type RoomPush = ServerMessageOf<
  | 'room.member_joined'
  | 'room.member_left'
  | 'room.member_disconnected'
  | 'room.offer'
  | 'room.acked'
  | 'room.nacked'
  | 'room.all_accepted'
  | 'room.key'
  | 'room.signal'
>;

/** Room pushes as one event: whoever holds the room sorts them by type. */
export interface RoomMessageEvents {
  room: [RoomPush];
}

export interface SignalingEvents extends CallMessageEvents, RoomMessageEvents {
  message: [ServerMessage];
  /** A line from the server that could not be handled (it is skipped). */
  problem: [Error];
  /** The connection is gone; `error` is the server's last word, if it said one. */
  close: [{ error?: ServerMessageOf<'error'>; reason: string }];
}

/** The most users list() gathers by default. */
const MAX_LISTED = 10_000;

type Pending = { resolve: (m: ServerMessage) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };
type Distribute<T> = T extends unknown ? Omit<T, 'req'> : never;
/** A request as a caller writes it: the `req` is added on sending. */
export type Request = Distribute<ClientMessage>;

/** Signs a `challenge` nonce for registering `name` with this client's identity key. */
export type HelloProver = (nonce: string, name: string) => { key: string; sig: string };

/** A typed connection to a parley server: requests return promises, pushes are events. */
export class SignalingClient extends EventEmitter<SignalingEvents> {
  private readonly pending = new Map<number, Pending>();
  private nextReq = 1;
  private readonly decoder = new LineDecoder();
  /** Lines received and not yet handled; see drain(). */
  private inbox: string[] = [];
  private draining = false;
  private lastError: ServerMessageOf<'error'> | undefined;
  private heartbeat: NodeJS.Timeout;
  private closed = false;
  private lastHeard = Date.now();
  /** Cut here because the server stopped answering pings. */
  private silent = false;
  welcome: ServerMessageOf<'welcome'> | null = null;

  private constructor(
    private readonly socket: net.Socket,
    readonly address: string,
    private readonly requestTimeoutMs: number,
    heartbeatMs: number,
    /** The connection is TLS (the server's identity was checked). */
    readonly secure: boolean,
  ) {
    super();
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      this.lastHeard = Date.now();
      this.decoder.push(chunk, (ev) => {
        if (ev.kind === 'line') this.inbox.push(ev.line);
      });
      this.drain();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.afterInbox(() => this.teardown(this.lastError?.message ?? (this.silent ? 'the server stopped answering' : 'the server closed the connection'))));
    // A server that answers no ping for three rounds is gone, even if TCP has not said so (a
    // network that drops everything): the connection is cut, so a reconnect can begin.
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.lastHeard > 3 * heartbeatMs) {
        this.silent = true;
        return void this.socket.destroy();
      }
      this.send({ type: 'ping' });
    }, heartbeatMs);
    this.heartbeat.unref();
  }

  static async connect(opts: ConnectOptions = {}): Promise<SignalingClient> {
    const host = opts.host ?? '127.0.0.1';
    const port = opts.port ?? 7100;
    const socket = await openServerSocket(host, port, opts.timeoutMs ?? 5000, opts.tls);
    return new SignalingClient(socket, hostPort(host, port), opts.requestTimeoutMs ?? 10_000, opts.heartbeatMs ?? 20_000, opts.tls !== undefined);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Sends a request and resolves with its reply; an `error` reply rejects with SignalingError. */
  request(msg: Request): Promise<ServerMessage> {
    if (this.closed) return Promise.reject(new SignalingError('disconnected', 'not connected to the server'));
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(req);
        reject(new SignalingError('timeout', `no reply to ${msg.type} from the server`));
      }, this.requestTimeoutMs);
      this.pending.set(req, { resolve, reject, timer });
      this.send({ ...msg, req } as ClientMessage);
    });
  }

  /**
   * Registers `name`. With `prove`, the name is registered with this client's identity: a
   * `challenge` first, whose nonce `prove` signs; a server that does not know `challenge`
   * (older than name claims) gets a plain hello. With `resume` (an earlier welcome's token) the
   * session is taken back if the server still holds it.
   */
  async hello(name: string, prove?: HelloProver, resume?: string): Promise<ServerMessageOf<'welcome'>> {
    let identity: { key: string; sig: string } | undefined;
    if (prove) {
      const nonce = await this.expect(this.request({ type: 'challenge' }), 'challenge').then(
        (r) => r.nonce,
        (err: unknown) => {
          if (err instanceof SignalingError && err.code === 'bad_request') return null;
          throw err;
        },
      );
      if (nonce) identity = prove(nonce, name);
    }
    const hello = { type: 'hello' as const, version: PROTOCOL_VERSION, name, ...(identity && { identity }), ...(resume !== undefined && { resume }) };
    const reply = await this.expect(this.request(hello), 'welcome');
    this.welcome = reply;
    return reply;
  }

  /**
   * Who is online, in name order: page after page while the server says there is more, up to
   * `max` users (a server with tens of thousands online is not listed whole by default).
   */
  async list(max = MAX_LISTED): Promise<UserInfo[]> {
    const users: UserInfo[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.expect(this.request(after === undefined ? { type: 'list' } : { type: 'list', after }), 'users');
      users.push(...page.users);
      const last = page.users.at(-1);
      if (!page.more || !last || users.length >= max) return users.slice(0, max);
      after = last.name;
    }
  }

  async lookup(name: string): Promise<UserInfo> {
    const r = await this.expect(this.request({ type: 'lookup', name }), 'user');
    return { name: r.name, status: r.status };
  }

  async call(to: string, offer: Record<string, unknown>): Promise<ServerMessageOf<'ringing'>> {
    return this.expect(this.request({ type: 'call', to, offer }), 'ringing');
  }

  async answer(
    call: string,
    reply:
      | { accept: true; answer: Record<string, unknown> }
      | { accept: false; reason?: 'declined' | 'busy' | 'incompatible' | 'failed'; cause?: FailureCause },
  ): Promise<void> {
    await this.expect(this.request({ type: 'answer', call, ...reply }), 'ok');
  }

  async cancel(call: string): Promise<void> {
    await this.expect(this.request({ type: 'cancel', call }), 'ok');
  }

  /** Hangs up; `failure` says this side's audio failed (the peer is told the cause). */
  async hangup(call: string, failure?: { reason: 'failed'; cause?: FailureCause }): Promise<void> {
    await this.expect(this.request({ type: 'hangup', call, ...failure }), 'ok');
  }

  async candidate(call: string, candidate: Record<string, unknown>): Promise<void> {
    await this.expect(this.request({ type: 'candidate', call, candidate }), 'ok');
  }

  async ping(): Promise<number> {
    const t0 = performance.now();
    await this.expect(this.request({ type: 'ping' }), 'pong');
    return performance.now() - t0;
  }

  /** Says bye and closes the connection; the server frees the name at once. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      if (this.welcome) this.send({ type: 'bye' });
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }

  /** Sends a raw line (tests use it to speak bad protocol). */
  sendRaw(line: string): void {
    if (!this.closed) this.socket.write(line);
  }

  private send(msg: ClientMessage): void {
    if (!this.closed) this.socket.write(JSON.stringify(msg) + '\n');
  }

  private async expect<T extends ServerMessage['type']>(p: Promise<ServerMessage>, type: T): Promise<ServerMessageOf<T>> {
    const m = await p;
    if (m.type !== type) throw new SignalingError('bad_request', `expected ${type} from the server, got ${m.type}`);
    return m as ServerMessageOf<T>;
  }

  /**
   * Handles lines in order. After a line that settles a request, the rest wait for the next
   * turn of the event loop, so whoever awaited that reply (e.g. learning a call id from
   * `ringing`) has run before the next message (e.g. that call's `rejected`) is handled.
   */
  private drain(): void {
    if (this.draining) return;
    let i = 0;
    while (i < this.inbox.length) {
      if (this.receive(this.inbox[i++]) && i < this.inbox.length) {
        this.inbox = this.inbox.slice(i);
        this.draining = true;
        setImmediate(() => {
          this.draining = false;
          this.drain();
        });
        return;
      }
    }
    this.inbox = [];
  }

  private afterInbox(fn: () => void): void {
    if (this.draining) setImmediate(() => this.afterInbox(fn));
    else fn();
  }

  /**
   * Handles one line; true when it settled a pending request. Whatever goes wrong with one line
   * (a listener that throws included) costs that line only, never the connection.
   */
  private receive(line: string): boolean {
    try {
      return this.handle(line);
    } catch (err) {
      this.emit('problem', err as Error);
      return false;
    }
  }

  private handle(line: string): boolean {
    const parsed = parseServerMessage(line);
    if (!parsed.ok) return false; // A newer server may say things this client does not know.
    const msg = withSafeText(parsed.msg);
    this.emit('message', msg);
    const req = 'req' in msg ? msg.req : undefined;
    const pending = typeof req === 'number' ? this.pending.get(req) : undefined;
    if (pending) {
      this.pending.delete(req as number);
      clearTimeout(pending.timer);
      if (msg.type === 'error') pending.reject(new SignalingError(msg.code, msg.message));
      else pending.resolve(msg);
      return true;
    }
    switch (msg.type) {
      case 'incoming':
      case 'accepted':
      case 'rejected':
      case 'ended':
      case 'candidate':
      case 'peer_reconnecting':
      case 'peer_reconnected':
        (this.emit as (e: string, m: ServerMessage) => boolean)(msg.type, msg);
        return false;
      case 'room.member_joined':
      case 'room.member_left':
      case 'room.member_disconnected':
      case 'room.offer':
      case 'room.acked':
      case 'room.nacked':
      case 'room.all_accepted':
      case 'room.key':
      case 'room.signal':
        this.emit('room', msg);
        return false;
      case 'error':
        this.lastError = msg;
        return false;
    }
    return false;
  }

  private teardown(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new SignalingError('disconnected', reason));
    }
    this.pending.clear();
    this.emit('close', { error: this.lastError, reason });
  }
}

export type { EndReason };
