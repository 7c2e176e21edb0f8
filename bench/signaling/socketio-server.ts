import { randomBytes } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';

/**
 * The reference: the Socket.IO signaling server people usually write for this job, in its
 * idiomatic shape (events with acks, one Map of names, default options but websocket only).
 * It does what parley's server does on the benchmarked paths: case-insensitively unique
 * names, call → incoming → accept → accepted, hang-up → ended, a ring timeout, peer_gone on
 * disconnect, and a shape check of every payload.
 */

type Ack = (reply: { ok: true; [k: string]: unknown } | { ok: false; error: string }) => void;
type Body = Record<string, unknown>;

interface User {
  name: string;
  socket: Socket;
  callId: string | null;
}

interface Call {
  id: string;
  caller: User;
  callee: User;
  active: boolean;
  timer: NodeJS.Timeout | null;
}

const NAME = /^[A-Za-z0-9._-]{1,32}$/;
const MAX_BODY_BYTES = 16 * 1024;

export interface RunningSocketIoServer {
  readonly port: number;
  readonly clients: number;
  close(): Promise<void>;
}

export async function startSocketIoServer(opts: { host: string; port?: number; ringTimeoutMs?: number }): Promise<RunningSocketIoServer> {
  const ringTimeoutMs = opts.ringTimeoutMs ?? 30_000;
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'], serveClient: false });
  const users = new Map<string, User>();
  const calls = new Map<string, Call>();

  const isBody = (v: unknown): v is Body =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && JSON.stringify(v).length <= MAX_BODY_BYTES;
  const other = (call: Call, u: User) => (u === call.caller ? call.callee : call.caller);

  function finish(call: Call): void {
    if (call.timer) clearTimeout(call.timer);
    calls.delete(call.id);
    call.caller.callId = null;
    call.callee.callId = null;
  }

  function partyCall(u: User, id: unknown): Call | null {
    const call = typeof id === 'string' ? calls.get(id) : undefined;
    return call && (call.caller === u || call.callee === u) ? call : null;
  }

  io.on('connection', (socket) => {
    let me: User | null = null;

    socket.on('register', (name: unknown, ack: Ack) => {
      if (typeof ack !== 'function') return;
      if (me) return ack({ ok: false, error: 'already_registered' });
      if (typeof name !== 'string' || !NAME.test(name)) return ack({ ok: false, error: 'bad_name' });
      const key = name.toLowerCase();
      if (users.has(key)) return ack({ ok: false, error: 'name_taken' });
      me = { name, socket, callId: null };
      users.set(key, me);
      ack({ ok: true, id: socket.id, name });
    });

    socket.on('call', (msg: { to?: unknown; offer?: unknown }, ack: Ack) => {
      if (typeof ack !== 'function') return;
      if (!me) return ack({ ok: false, error: 'not_registered' });
      if (typeof msg?.to !== 'string' || !isBody(msg.offer)) return ack({ ok: false, error: 'bad_request' });
      const callee = users.get(msg.to.toLowerCase());
      if (!callee) return ack({ ok: false, error: 'not_found' });
      if (callee === me) return ack({ ok: false, error: 'self_call' });
      if (me.callId || callee.callId) return ack({ ok: false, error: 'busy' });
      const call: Call = { id: randomBytes(16).toString('hex'), caller: me, callee, active: false, timer: null };
      call.timer = setTimeout(() => {
        finish(call);
        call.caller.socket.emit('ended', { call: call.id, reason: 'timeout' });
        call.callee.socket.emit('ended', { call: call.id, reason: 'timeout' });
      }, ringTimeoutMs);
      calls.set(call.id, call);
      me.callId = callee.callId = call.id;
      callee.socket.emit('incoming', { call: call.id, from: me.name, offer: msg.offer });
      ack({ ok: true, call: call.id, to: callee.name });
    });

    socket.on('answer', (msg: { call?: unknown; accept?: unknown; answer?: unknown }, ack: Ack) => {
      if (typeof ack !== 'function') return;
      const call = me && partyCall(me, msg?.call);
      if (!me || !call) return ack({ ok: false, error: 'no_such_call' });
      if (call.callee !== me || call.active) return ack({ ok: false, error: 'wrong_state' });
      if (msg.accept === true) {
        if (!isBody(msg.answer)) return ack({ ok: false, error: 'bad_request' });
        call.active = true;
        if (call.timer) clearTimeout(call.timer);
        call.timer = null;
        call.caller.socket.emit('accepted', { call: call.id, answer: msg.answer });
      } else {
        finish(call);
        call.caller.socket.emit('rejected', { call: call.id, reason: 'declined' });
      }
      ack({ ok: true });
    });

    socket.on('hangup', (msg: { call?: unknown }, ack: Ack) => {
      if (typeof ack !== 'function') return;
      const call = me && partyCall(me, msg?.call);
      if (!me || !call) return ack({ ok: false, error: 'no_such_call' });
      finish(call);
      const reason = call.active ? 'hangup' : me === call.caller ? 'cancelled' : 'declined';
      other(call, me).socket.emit(reason === 'declined' ? 'rejected' : 'ended', { call: call.id, by: me.name, reason });
      ack({ ok: true });
    });

    socket.on('disconnect', () => {
      if (!me) return;
      users.delete(me.name.toLowerCase());
      const call = me.callId ? calls.get(me.callId) : undefined;
      if (call) {
        finish(call);
        other(call, me).socket.emit('ended', { call: call.id, by: me.name, reason: 'peer_gone' });
      }
    });
  });

  return listen(http, io, users, opts);
}

/** Starts listening; `clients` counts the registered users. Both references end this way. */
export async function listen(http: HttpServer, io: Server, users: ReadonlyMap<string, unknown>, opts: { host: string; port?: number }): Promise<RunningSocketIoServer> {
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 0, opts.host, () => resolve());
  });
  return {
    port: (http.address() as AddressInfo).port,
    get clients() {
      return users.size;
    },
    close: () => new Promise<void>((resolve) => io.close(() => resolve())),
  };
}
