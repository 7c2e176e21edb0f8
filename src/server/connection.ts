import type { Socket } from 'node:net';
import { LineDecoder, type ErrorCode, type LineEvent, type LineHandler, type ServerMessage } from '../protocol';
import { encodeServerMessage } from '../protocol/encode';
import type { Clock } from './clock';
import type { Session } from './registry';
import type { Throttle } from './throttle';
import { TokenBucket, type Rate } from './token-bucket';

/** Cost units of a read that finishes no line (a line is charged by its handler instead). */
const READ_COST = 1;

/** What a closing connection reads (and drops) of a peer that goes on sending before it is reset. */
const CLOSING_READ_BYTES = 64 * 1024;

/** What a connection is: nothing yet, a registered session, or on its way out (since when). */
export type ConnectionState =
  | { phase: 'anonymous' }
  | { phase: 'registered'; session: Session }
  | { phase: 'closing'; reason: string; since: number };

/**
 * The write side within one tick: nothing written yet, one message written straight out, later
 * ones corked to leave together, or over the pending-output cap (later writes are dropped and the
 * flush cuts the connection).
 */
type Output = 'idle' | 'written' | 'corked' | 'overflowing';

export interface ConnectionHooks {
  /** Handles one line (synchronously); it charges the connection what the line cost. */
  line(conn: Connection, ev: LineEvent): void;
  /** Called once, as soon as the connection is on its way out: frees the name at once. */
  leave(conn: Connection, session: Session, why: string): void;
}

export interface ConnectionEnv {
  clock: Clock;
  throttle: Throttle;
  /** The request budget (token bucket) each connection gets. */
  requests: Rate;
  /** Pending output to one client before it is dropped as a slow consumer. */
  maxPendingOutput: number;
}

/**
 * One client's TCP socket: line framing in (paused while over its request budget), batched
 * writes out (cut off once too much waits), the bad-line count and the heartbeat clock. It knows
 * nothing of what messages mean (see dispatcher.ts).
 */
export class Connection {
  state: ConnectionState = { phase: 'anonymous' };
  lastSeen: number;
  readonly openedAt: number;
  badLines = 0;
  readonly decoder = new LineDecoder();
  /** The peer's IP address, and address:port for logs. */
  readonly address: string;
  readonly remote: string;
  private output: Output = 'idle';
  private readonly budget: TokenBucket;
  /** The budget after the last charge; below zero, reading stops. */
  private level: number;
  private readonly onLine: LineHandler;
  /** Lines handed on so far: a read that adds none is charged on its own (see receive). */
  private lines = 0;
  /** Bytes read (and dropped) since closing. */
  private drained = 0;
  private readonly flushNow = () => this.flush();

  constructor(
    readonly socket: Socket,
    private readonly hooks: ConnectionHooks,
    private readonly env: ConnectionEnv,
  ) {
    const now = env.clock.now();
    this.lastSeen = now;
    this.openedAt = now;
    this.budget = new TokenBucket(env.requests, now);
    this.level = env.requests.burst;
    this.address = socket.remoteAddress ?? '';
    this.remote = formatRemote(this.address, socket.remotePort);
    this.onLine = (ev) => {
      this.lines++;
      this.hooks.line(this, ev);
      return this.level >= 0 && this.state.phase !== 'closing';
    };
  }

  get session(): Session | null {
    return this.state.phase === 'registered' ? this.state.session : null;
  }

  /** Bytes written to this client that its socket has not taken yet. */
  get backlog(): number {
    return this.socket.writableLength;
  }

  /**
   * Input from the socket. Once closing, it is read only to see the peer close, and dropped; a
   * peer that goes on sending past CLOSING_READ_BYTES is reset rather than read at its pace.
   */
  receive(chunk: Buffer): void {
    if (this.state.phase === 'closing') {
      this.drained += chunk.length;
      if (this.drained > CLOSING_READ_BYTES) this.socket.destroy();
      return;
    }
    const lines = this.lines;
    if (!this.decoder.push(chunk, this.onLine)) return this.hold();
    // A read that finishes no line still cost a wake-up: charged like a request, so a peer that
    // drips a byte a segment is paused by its budget, and the kernel joins what it sends meanwhile.
    if (this.lines === lines) {
      this.charge(READ_COST, this.env.clock.now());
      if (this.level < 0) this.hold();
    }
  }

  /** Charges the request budget; reading stops after this line when it is spent. */
  charge(cost: number, now: number): void {
    this.level = this.budget.charge(cost, now);
  }

  /** The budget has refilled (called by the throttle): reads what was held, then the socket again. */
  resume(): void {
    if (this.state.phase === 'closing') return;
    this.level = this.budget.charge(0, this.env.clock.now());
    if (this.decoder.resume(this.onLine)) this.socket.resume();
    else this.hold();
  }

  /** Moves to `closing` (once) and lets the session go. */
  leave(why: string): void {
    if (this.state.phase === 'closing') return;
    const session = this.session;
    this.state = { phase: 'closing', reason: why, since: this.env.clock.now() };
    this.env.throttle.release(this);
    if (session) this.hooks.leave(this, session, why);
  }

  /**
   * Cut without leaving: its session has moved to another connection (a resume that came
   * before this one was seen to drop), so nothing is freed or ended.
   */
  detach(): void {
    if (this.state.phase === 'closing') return;
    this.state = { phase: 'closing', reason: 'replaced', since: this.env.clock.now() };
    this.env.throttle.release(this);
    this.socket.destroy();
  }

  send(msg: ServerMessage): void {
    const socket = this.socket;
    const output = this.output;
    if (output === 'overflowing' || !socket.writable) return;
    // Most ticks carry one message to a connection: it is written at once, one write and no
    // cork. From a second message in the same tick on, writes are corked and leave together
    // (one writev) at the end of the tick, not one syscall per message.
    if (output === 'idle') {
      this.output = 'written';
      process.nextTick(this.flushNow);
    } else if (output === 'written') {
      this.output = 'corked';
      socket.cork();
    }
    socket.write(encodeServerMessage(msg));
    // Checked as it is produced: a client that stops reading costs at most the cap, whatever
    // one tick asks to send it. It is cut off at the flush, not in the middle of someone's request.
    if (socket.writableLength > this.env.maxPendingOutput) this.output = 'overflowing';
  }

  /** Sends a last error, then closes; the sweep cuts off a peer that does not close its side. */
  fail(code: ErrorCode, message: string): void {
    if (this.state.phase === 'closing') return;
    this.send({ type: 'error', code, message });
    this.leave(code);
    this.socket.end();
  }

  private hold(): void {
    if (this.state.phase === 'closing') return;
    this.socket.pause();
    const now = this.env.clock.now();
    this.env.throttle.hold(this, now + this.budget.msUntil(0, now));
  }

  private flush(): void {
    const overflowed = this.output === 'overflowing';
    this.output = 'idle';
    // Corked from this tick's second message, whatever the output state became after it.
    if (this.socket.writableCorked) this.socket.uncork();
    if (overflowed) {
      this.leave('slow_consumer');
      this.socket.destroy();
    }
  }
}

/** `1.2.3.4:5` or `[::1]:5`. */
export function formatRemote(address: string, port: number | undefined): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
