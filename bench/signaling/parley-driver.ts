import net from 'node:net';
import type { BenchClient, Body, Driver } from './driver';

type Incoming = { type: string; req?: number; call?: string; code?: string; message?: string };

/**
 * parley's wire protocol spoken directly (NDJSON over TCP), without the typed client's
 * schema checks, so the generator spends its CPU on load rather than on validation.
 */
export const parleyDriver: Driver = {
  connect(port, name, onError) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.setNoDelay(true);
      let pending = '';
      let nextReq = 1;
      let registered = false;
      let onAccepted: ((call: string) => void) | null = null;
      let answer: Body | null = null;
      let hangupReq = 0;
      let hangupDone: (() => void) | null = null;
      const send = (msg: object) => socket.write(JSON.stringify(msg) + '\n');

      const client: BenchClient = {
        call(to, offer, accepted) {
          onAccepted = accepted;
          send({ type: 'call', req: nextReq++, to, offer });
        },
        answerAll(body) {
          answer = body;
        },
        hangup(call, done) {
          hangupReq = nextReq++;
          hangupDone = done;
          send({ type: 'hangup', req: hangupReq, call });
        },
        close: () => socket.destroy(),
      };

      const handle = (msg: Incoming) => {
        switch (msg.type) {
          case 'welcome':
            registered = true;
            return resolve(client);
          case 'accepted': {
            const cb = onAccepted;
            onAccepted = null;
            return cb?.(msg.call!);
          }
          case 'incoming':
            if (answer) send({ type: 'answer', req: nextReq++, call: msg.call, accept: true, answer });
            return;
          case 'ok':
            if (msg.req === hangupReq && hangupDone) {
              const done = hangupDone;
              hangupDone = null;
              done();
            }
            return;
          case 'error':
            if (!registered) return reject(new Error(`${name}: ${msg.code}: ${msg.message}`));
            onError(`${msg.code}`);
            // A failed hang-up still ends this round, or the pair would stall.
            if (msg.req === hangupReq) handle({ type: 'ok', req: hangupReq });
            return;
        }
      };

      socket.on('connect', () => send({ type: 'hello', req: 0, version: 1, name }));
      socket.on('data', (chunk) => {
        const lines = (pending + chunk.toString('utf8')).split('\n');
        pending = lines.pop()!;
        for (const line of lines) handle(JSON.parse(line) as Incoming);
      });
      socket.on('error', (err) => (registered ? onError(err.message) : reject(err)));
      socket.on('close', () => {
        if (!registered) reject(new Error(`${name}: connection closed before welcome`));
      });
    });
  },
};
