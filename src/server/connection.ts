import type { Socket } from 'node:net';
import { LineDecoder, MAX_PENDING_OUTPUT_BYTES, type ErrorCode, type ServerMessage } from '../protocol';
import type { Session } from './registry';

/** What a connection is: nothing yet, a registered session, or on its way out. */
export type ConnectionState =
  | { phase: 'anonymous' }
  | { phase: 'registered'; session: Session }
  | { phase: 'closing'; reason: string };

/**
 * One client's TCP socket: line framing in, batched writes out, the bad-line count and
 * the heartbeat clock. It knows nothing of what messages mean (see dispatcher.ts).
 */
export class Connection {
  state: ConnectionState = { phase: 'anonymous' };
  lastSeen = Date.now();
  badLines = 0;
  readonly decoder = new LineDecoder();
  readonly remote: string;
  private corked = false;

  constructor(
    readonly socket: Socket,
    /** Called once, as soon as the connection is on its way out: frees the name at once. */
    private readonly onLeave: (session: Session, why: string) => void,
    private readonly maxPendingOutput = MAX_PENDING_OUTPUT_BYTES,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
  }

  get session(): Session | null {
    return this.state.phase === 'registered' ? this.state.session : null;
  }

  /** Moves to `closing` (once) and lets the session go. */
  leave(why: string): void {
    if (this.state.phase === 'closing') return;
    const session = this.session;
    this.state = { phase: 'closing', reason: why };
    if (session) this.onLeave(session, why);
  }

  send(msg: ServerMessage): void {
    const socket = this.socket;
    if (!socket.writable) return;
    // Everything sent in one tick leaves in one write (writev), not one syscall per message.
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(() => this.flush());
    }
    socket.write(JSON.stringify(msg) + '\n');
  }

  private flush(): void {
    this.corked = false;
    this.socket.uncork();
    // What the kernel would not take stays in Node's buffer: a client that stops reading
    // is cut off here rather than growing the server's memory.
    if (this.socket.writableLength > this.maxPendingOutput) {
      this.leave('slow_consumer');
      this.socket.destroy();
    }
  }

  /** Sends a last error, then closes; a peer that does not close its side is cut off. */
  fail(code: ErrorCode, message: string): void {
    if (this.state.phase === 'closing') return;
    this.send({ type: 'error', code, message });
    this.leave(code);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }
}
