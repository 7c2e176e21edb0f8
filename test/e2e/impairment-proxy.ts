import dgram from 'node:dgram';
import { seededRandom } from '../../src/audio/signals';
import type { Candidate } from '../../src/media/candidates';
import { classifyPacket } from '../../src/media/demux';

export interface Impairment {
  /** Probability a datagram is dropped. */
  loss: number;
  /** Each datagram is delayed by a uniform 0..jitterMs; more than a frame reorders them. */
  jitterMs: number;
  seed: number;
}

interface Side {
  socket: dgram.Socket;
  /** Where the client behind this side really is. */
  real: Candidate | null;
  /** RTP packets dropped on the way to this side's client. */
  rtpDropped: number;
  rtpForwarded: number;
}

/**
 * A UDP relay between two clients that loses and delays datagrams (seeded, so runs repeat).
 * Each client is told, through Phone's `candidates` hook, that its peer is at the proxy:
 * `advertise('a')` hands client A's real address to the proxy and returns the proxy socket
 * B will send to.
 */
export class ImpairmentProxy {
  private readonly rnd: () => number;
  private readonly sides: Record<'a' | 'b', Side>;
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly impairment: Impairment,
    a: dgram.Socket,
    b: dgram.Socket,
  ) {
    this.rnd = seededRandom(impairment.seed);
    this.sides = {
      a: { socket: a, real: null, rtpDropped: 0, rtpForwarded: 0 },
      b: { socket: b, real: null, rtpDropped: 0, rtpForwarded: 0 },
    };
    // What arrives at A's proxy socket came from B and goes to A, sent from B's proxy socket.
    a.on('message', (msg) => this.forward(msg, this.sides.a, this.sides.b.socket));
    b.on('message', (msg) => this.forward(msg, this.sides.b, this.sides.a.socket));
  }

  static async start(impairment: Impairment): Promise<ImpairmentProxy> {
    const bind = () =>
      new Promise<dgram.Socket>((resolve) => {
        const s = dgram.createSocket('udp4');
        s.bind(0, '127.0.0.1', () => resolve(s));
      });
    return new ImpairmentProxy(impairment, await bind(), await bind());
  }

  /** For `PhoneOptions.candidates` of client `side`. */
  advertise(side: 'a' | 'b'): (host: Candidate[]) => Candidate[] {
    return (host) => {
      this.sides[side].real = host[0];
      return [{ ip: '127.0.0.1', port: this.sides[side].socket.address().port, type: 'relay' }];
    };
  }

  /** RTP dropped on the way to client `side` (what its loss statistics should show). */
  dropped(side: 'a' | 'b'): { dropped: number; forwarded: number } {
    return { dropped: this.sides[side].rtpDropped, forwarded: this.sides[side].rtpForwarded };
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.sides.a.socket.close();
    this.sides.b.socket.close();
  }

  private forward(msg: Buffer, to: Side, via: dgram.Socket): void {
    const real = to.real;
    if (!real) return;
    const isRtp = classifyPacket(msg) === 'rtp';
    if (this.rnd() < this.impairment.loss) {
      if (isRtp) to.rtpDropped++;
      return;
    }
    if (isRtp) to.rtpForwarded++;
    const t = setTimeout(() => {
      this.timers.delete(t);
      via.send(msg, real.port, real.ip);
    }, this.rnd() * this.impairment.jitterMs);
    this.timers.add(t);
  }
}
