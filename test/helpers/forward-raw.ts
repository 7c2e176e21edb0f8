import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { encodeStun, parseStun, STUN_BINDING_REQUEST, STUN_BINDING_SUCCESS, verifyIntegrity, type ForwardOffer } from '../../src/protocol';

/**
 * A room member's media socket, raw: registers with the forwarder by a Binding request under its
 * short-term credentials, sends datagrams, and records what arrives that is not STUN.
 */
export class ForwardSocket {
  readonly media: Buffer[] = [];
  private readonly stun = new Map<string, (p: Buffer) => void>();
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: dgram.Socket) {
    socket.on('message', (p) => {
      const msg = p.length >= 20 && p[0] < 4 ? parseStun(p) : null;
      if (msg) return this.stun.get(msg.transactionId.toString('hex'))?.(p);
      this.media.push(p);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(): Promise<ForwardSocket> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    return new ForwardSocket(s);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /**
   * Sends a Binding request signed with `password` (the offer's, unless told otherwise); resolves
   * with the mapped address of a success whose integrity checks under it, or null if none
   * comes within `timeoutMs`.
   */
  register(offer: ForwardOffer, { password = offer.password, timeoutMs = 2000 } = {}): Promise<{ ip: string; port: number } | null> {
    const tid = randomBytes(12);
    const key = Buffer.from(password, 'utf8');
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.stun.delete(tid.toString('hex'));
        resolve(null);
      }, timeoutMs);
      this.stun.set(tid.toString('hex'), (p) => {
        const msg = parseStun(p);
        if (!msg || msg.type !== STUN_BINDING_SUCCESS || !verifyIntegrity(p, msg, key)) return;
        clearTimeout(t);
        this.stun.delete(tid.toString('hex'));
        resolve(msg.xorMappedAddress ?? null);
      });
      this.socket.send(encodeStun(STUN_BINDING_REQUEST, tid, { username: offer.username }, key), offer.port, '127.0.0.1');
    });
  }

  send(packet: Buffer, port: number): void {
    this.socket.send(packet, port, '127.0.0.1');
  }

  /** Resolves once `n` media datagrams have arrived in all; rejects after `timeoutMs`. */
  async received(n: number, timeoutMs = 5000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.media.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`got ${this.media.length} of ${n} datagrams`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.media;
  }

  close(): void {
    this.socket.close();
  }
}

/** An RTP packet: version 2, payload type 111 (Opus), `seq`, SSRC `ssrc`, `size` bytes in all. */
export function rtp(ssrc: number, seq: number, size = 112): Buffer {
  const p = randomBytes(size);
  p[0] = 0x80;
  p[1] = 111;
  p.writeUInt16BE(seq & 0xffff, 2);
  p.writeUInt32BE(seq * 960, 4);
  p.writeUInt32BE(ssrc >>> 0, 8);
  return p;
}
