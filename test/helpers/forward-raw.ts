import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { encodeStun, parseStun, STUN_BINDING_ERROR, STUN_BINDING_REQUEST, STUN_BINDING_SUCCESS, verifyIntegrity, type ForwardOffer } from '../../src/protocol';

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

  /** The nonce of the last 401 the forwarder answered this socket with (its proof of address). */
  challenge: string | undefined;

  /**
   * Sends a Binding request signed with `password` (the offer's, unless told otherwise) and
   * carrying `nonce` if given; a 401 with a nonce is answered with the request again carrying it
   * (unless `prove` is false); resolves with the mapped address of a success whose integrity
   * checks under the key, or null if none comes within `timeoutMs`.
   */
  register(offer: ForwardOffer, { password = offer.password, timeoutMs = 2000, nonce = undefined as string | undefined, prove = true } = {}): Promise<{ ip: string; port: number } | null> {
    const tid = randomBytes(12);
    const key = Buffer.from(password, 'utf8');
    const ask = (n: string | undefined) => {
      const attrs = n === undefined ? { username: offer.username } : { username: offer.username, nonce: n };
      this.socket.send(encodeStun(STUN_BINDING_REQUEST, tid, attrs, key), offer.port, '127.0.0.1');
    };
    return new Promise((resolve) => {
      const done = (r: { ip: string; port: number } | null) => {
        clearTimeout(t);
        this.stun.delete(tid.toString('hex'));
        resolve(r);
      };
      const t = setTimeout(() => done(null), timeoutMs);
      this.stun.set(tid.toString('hex'), (p) => {
        const msg = parseStun(p);
        if (!msg || !verifyIntegrity(p, msg, key)) return;
        if (msg.type === STUN_BINDING_ERROR && msg.errorCode === 401 && msg.nonce !== undefined) {
          this.challenge = msg.nonce;
          return prove ? ask(msg.nonce) : done(null);
        }
        if (msg.type === STUN_BINDING_SUCCESS) done(msg.xorMappedAddress ?? null);
      });
      ask(nonce);
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
