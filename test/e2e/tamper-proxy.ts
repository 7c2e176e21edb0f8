/**
 * A UDP relay between two clients that sees every datagram and may change what it forwards:
 * the vantage point of anyone on the path (an ISP, a TURN relay, a spoofer who learned both
 * addresses). Each client is told, through Phone's `candidates` hook, that its peer is at the
 * proxy; a hook per direction decides what goes on: the datagram as it came, altered, several
 * (a replay), extra forged ones, or nothing.
 */
import dgram from 'node:dgram';
import type { Candidate } from '../../src/media/candidates';
import { classifyPacket } from '../../src/media/demux';

export type Direction = 'toA' | 'toB';
/** Returns the datagrams to send on, in order. */
export type Tamper = (msg: Buffer, n: number) => Buffer[];

interface Side {
  socket: dgram.Socket;
  real: Candidate | null;
}

export class TamperProxy {
  /** Every RTP datagram that crossed, per direction, as it arrived at the proxy. */
  readonly captured: Record<Direction, Buffer[]> = { toA: [], toB: [] };
  /** RTP datagrams to each side, counted before the hook sees them. */
  private readonly counts: Record<Direction, number> = { toA: 0, toB: 0 };
  private readonly sides: Record<'a' | 'b', Side>;
  tamper: Partial<Record<Direction, Tamper>> = {};

  private constructor(a: dgram.Socket, b: dgram.Socket) {
    this.sides = { a: { socket: a, real: null }, b: { socket: b, real: null } };
    // What arrives at A's proxy socket came from B and goes to A, sent from B's proxy socket.
    a.on('message', (msg) => this.forward(msg, 'toA', this.sides.a, this.sides.b.socket));
    b.on('message', (msg) => this.forward(msg, 'toB', this.sides.b, this.sides.a.socket));
  }

  static async start(): Promise<TamperProxy> {
    const bind = () =>
      new Promise<dgram.Socket>((resolve) => {
        const s = dgram.createSocket('udp4');
        s.bind(0, '127.0.0.1', () => resolve(s));
      });
    return new TamperProxy(await bind(), await bind());
  }

  /** For `PhoneOptions.candidates` of client `side`. */
  advertise(side: 'a' | 'b'): (host: Candidate[]) => Candidate[] {
    return (host) => {
      this.sides[side].real = host[0];
      return [{ ip: '127.0.0.1', port: this.sides[side].socket.address().port, type: 'host' }];
    };
  }

  close(): void {
    this.sides.a.socket.close();
    this.sides.b.socket.close();
  }

  private forward(msg: Buffer, dir: Direction, to: Side, via: dgram.Socket): void {
    const real = to.real;
    if (!real) return;
    let out = [msg];
    if (classifyPacket(msg) === 'rtp') {
      this.captured[dir].push(Buffer.from(msg));
      const hook = this.tamper[dir];
      if (hook) out = hook(msg, this.counts[dir]++);
    }
    for (const m of out) via.send(m, real.port, real.ip);
  }
}
