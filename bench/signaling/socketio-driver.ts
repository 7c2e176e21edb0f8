import { io } from 'socket.io-client';
import type { BenchClient, Body, Driver } from './driver';

type AckReply = { ok: boolean; error?: string; call?: string };

/**
 * The stock socket.io-client, websocket only, one connection (Manager) per client. `minimal`
 * speaks to socketio-min-server.ts: `call` and `answer` go without acks (nothing comes back but
 * `incoming` and `accepted`); the hang-up is still acknowledged, as the caller must know it may call again.
 */
export function socketIoDriver(minimal: boolean): Driver {
  return {
    connect(port, name, onError) {
      return new Promise((resolve, reject) => {
        // forceNew: otherwise every client to the same URL would share one multiplexed connection.
        const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
        let onAccepted: ((call: string) => void) | null = null;
        const check = (r: AckReply) => {
          if (!r.ok) onError(r.error ?? 'error');
        };

        const client: BenchClient = {
          call(to, offer, accepted) {
            onAccepted = accepted;
            if (minimal) socket.emit('call', { to, offer });
            else socket.emit('call', { to, offer }, check);
          },
          answerAll(answer: Body) {
            socket.on('incoming', (msg: { call: string }) =>
              minimal ? socket.emit('answer', { call: msg.call, answer }) : socket.emit('answer', { call: msg.call, accept: true, answer }, check),
            );
          },
          hangup(call, done) {
            socket.emit('hangup', { call }, (r: AckReply) => {
              check(r);
              done();
            });
          },
          close: () => socket.disconnect(),
        };

        socket.on('accepted', (msg: { call: string }) => {
          const cb = onAccepted;
          onAccepted = null;
          cb?.(msg.call);
        });
        socket.once('connect_error', reject);
        socket.once('connect', () => {
          socket.off('connect_error', reject);
          socket.on('connect_error', (err) => onError(err.message));
          socket.emit('register', name, (r: AckReply) => (r.ok ? resolve(client) : reject(new Error(`${name}: ${r.error ?? 'refused'}`))));
        });
      });
    },
  };
}
