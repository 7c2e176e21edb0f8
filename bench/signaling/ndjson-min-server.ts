import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { RunningSocketIoServer } from './socketio-server';

/**
 * The least a Node server can do for the benchmarked job on parley's own transport (a JSON
 * object a line over TCP), in the subset of parley's protocol the generator speaks: hello →
 * welcome (unique names), call → incoming, answer → accepted, hang-up → ok and ended. No
 * validation beyond what keeps it from throwing, no limits, no ringing, call ids from a
 * counter, one write a message. It is the floor under parley's server in Node: parley's figure
 * over it is what parley's checks and features cost.
 */

interface User {
  name: string;
  socket: net.Socket;
}

interface Call {
  id: string;
  caller: User;
  callee: User;
}

type Msg = { type?: unknown; req?: unknown; name?: unknown; to?: unknown; call?: unknown; offer?: unknown; answer?: unknown };

export async function startNdjsonMinServer(opts: { host: string; port?: number }): Promise<RunningSocketIoServer> {
  const users = new Map<string, User>();
  const calls = new Map<string, Call>();
  const sockets = new Set<net.Socket>();
  let nextCall = 1;
  const send = (socket: net.Socket, msg: object) => socket.write(JSON.stringify(msg) + '\n');

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    let me: User | null = null;
    let pending = '';

    const handle = (msg: Msg) => {
      switch (msg.type) {
        case 'hello':
          if (me || typeof msg.name !== 'string' || users.has(msg.name)) return send(socket, { type: 'error', req: msg.req, code: 'name_taken', message: 'no' });
          me = { name: msg.name, socket };
          users.set(msg.name, me);
          return send(socket, { type: 'welcome', req: msg.req, name: msg.name });
        case 'call': {
          const callee = me && typeof msg.to === 'string' ? users.get(msg.to) : undefined;
          if (!me || !callee) return;
          const call: Call = { id: String(nextCall++), caller: me, callee };
          calls.set(call.id, call);
          return send(callee.socket, { type: 'incoming', call: call.id, from: me.name, offer: msg.offer });
        }
        case 'answer': {
          const call = typeof msg.call === 'string' ? calls.get(msg.call) : undefined;
          if (!call || call.callee !== me) return;
          return send(call.caller.socket, { type: 'accepted', call: call.id, answer: msg.answer });
        }
        case 'hangup': {
          const call = typeof msg.call === 'string' ? calls.get(msg.call) : undefined;
          if (call && (call.caller === me || call.callee === me)) {
            calls.delete(call.id);
            send((call.caller === me ? call.callee : call.caller).socket, { type: 'ended', call: call.id, by: me.name, reason: 'hangup' });
          }
          return send(socket, { type: 'ok', req: msg.req });
        }
      }
    };

    socket.on('data', (chunk) => {
      const lines = (pending + chunk.toString('utf8')).split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        let msg: Msg;
        try {
          msg = JSON.parse(line) as Msg;
        } catch {
          continue;
        }
        if (msg !== null && typeof msg === 'object') handle(msg);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      if (me) users.delete(me.name);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    get clients() {
      return users.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
