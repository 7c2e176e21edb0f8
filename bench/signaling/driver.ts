import type { ServerKind } from './ipc';
import { parleyDriver } from './parley-driver';
import { socketIoDriver } from './socketio-driver';

export type Body = Record<string, unknown>;

/** One registered client, reduced to what the load needs; the same for both servers. */
export interface BenchClient {
  /** Places a call; `onAccepted` gets the call id once the callee's answer is back. */
  call(to: string, offer: Body, onAccepted: (call: string) => void): void;
  /** From now on, answers every incoming call at once with `answer`. */
  answerAll(answer: Body): void;
  /** Hangs up; `done` runs when the server has confirmed. */
  hangup(call: string, done: () => void): void;
  close(): void;
}

export interface Driver {
  /** Connects to 127.0.0.1:port and registers `name`; resolves once the server confirmed it. */
  connect(port: number, name: string, onError: (why: string) => void): Promise<BenchClient>;
}

export function driverFor(kind: ServerKind): Driver {
  return kind === 'parley' || kind === 'ndjson-min' ? parleyDriver : socketIoDriver(kind === 'socketio-min');
}

/** Bodies of a realistic size for parley's media negotiation, the same for both servers. */
export const OFFER: Body = {
  codecs: [{ name: 'opus', rate: 48000, channels: 1, frameMs: 20, bitrate: 24000, fec: true }],
  candidates: [
    { kind: 'host', ip: '192.168.1.23', port: 40112 },
    { kind: 'srflx', ip: '203.0.113.7', port: 40112 },
  ],
  ssrc: 1234567890,
};
export const ANSWER: Body = {
  codec: { name: 'opus', rate: 48000, channels: 1, frameMs: 20, bitrate: 24000, fec: true },
  candidates: [{ kind: 'host', ip: '192.168.1.42', port: 50334 }],
  ssrc: 987654321,
};
