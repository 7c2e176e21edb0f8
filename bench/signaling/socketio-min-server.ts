import { createServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import { listen, type RunningSocketIoServer } from './socketio-server';

/**
 * The least a Socket.IO server can do for the benchmarked job, so a ratio against it is against
 * the floor: unique names (acknowledged), call → incoming, accept → accepted, hang-up → ended
 * (acknowledged, so the caller knows it may call again). No ring timer, no busy or shape checks
 * beyond what keeps it from throwing, call ids from a counter. Default options, websocket only.
 */

interface User {
  name: string;
  socket: Socket;
}

interface Call {
  id: string;
  caller: User;
  callee: User;
}

type Ack = (reply: { ok: boolean }) => void;

export async function startSocketIoMinServer(opts: { host: string; port?: number }): Promise<RunningSocketIoServer> {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'], serveClient: false });
  const users = new Map<string, User>();
  const calls = new Map<string, Call>();
  let nextCall = 1;

  io.on('connection', (socket) => {
    let me: User | null = null;

    socket.on('register', (name: unknown, ack: Ack) => {
      if (typeof ack !== 'function') return;
      if (me || typeof name !== 'string' || users.has(name)) return ack({ ok: false });
      me = { name, socket };
      users.set(name, me);
      ack({ ok: true });
    });

    socket.on('call', (msg: { to?: unknown; offer?: unknown }) => {
      const callee = me && typeof msg?.to === 'string' ? users.get(msg.to) : undefined;
      if (!me || !callee) return;
      const call: Call = { id: String(nextCall++), caller: me, callee };
      calls.set(call.id, call);
      callee.socket.emit('incoming', { call: call.id, from: me.name, offer: msg.offer });
    });

    socket.on('answer', (msg: { call?: unknown; answer?: unknown }) => {
      const call = typeof msg?.call === 'string' ? calls.get(msg.call) : undefined;
      if (!call || call.callee !== me) return;
      call.caller.socket.emit('accepted', { call: call.id, answer: msg.answer });
    });

    socket.on('hangup', (msg: { call?: unknown }, ack: Ack) => {
      const call = typeof msg?.call === 'string' ? calls.get(msg.call) : undefined;
      if (call && (call.caller === me || call.callee === me)) {
        calls.delete(call.id);
        (call.caller === me ? call.callee : call.caller).socket.emit('ended', { call: call.id, by: me.name, reason: 'hangup' });
      }
      if (typeof ack === 'function') ack({ ok: call !== undefined });
    });

    socket.on('disconnect', () => {
      if (me) users.delete(me.name);
    });
  });

  return listen(http, io, users, opts);
}
