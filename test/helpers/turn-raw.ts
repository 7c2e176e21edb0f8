import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import {
  encodeChannelData,
  encodeStun,
  longTermKey,
  looksLikeChannelData,
  looksLikeStun,
  parseChannelData,
  parseStun,
  stunType,
  TRANSPORT_UDP,
  TURN_MAX_BYTES,
  TURN_METHOD,
  verifyIntegrity,
  type StunAttributes,
  type StunMessage,
} from '../../src/protocol';

export interface Endpoint {
  ip: string;
  port: number;
}

/** What reached the client's socket that was not a response: relayed data, or a raw datagram. */
export interface Arrival {
  kind: 'data' | 'channel' | 'raw';
  /** The peer a Data indication names, or the channel ChannelData came on. */
  peer?: Endpoint;
  channel?: number;
  data: Buffer;
  from: Endpoint;
}

export interface Answer extends StunMessage {
  /** Its MESSAGE-INTEGRITY checked out under the long-term key. */
  signed: boolean;
}

/**
 * Just enough of a TURN client (RFC 8656) over one UDP socket for tests: the 401 → retry with
 * REALM and NONCE dance, Allocate, Refresh, CreatePermission, ChannelBind, Send indications and
 * ChannelData; every datagram that is not a response is kept in `arrivals`.
 */
export class TurnClient {
  readonly arrivals: Arrival[] = [];
  realm?: string;
  nonce?: string;
  private readonly pending = new Map<string, (msg: StunMessage, raw: Buffer) => void>();
  private waiters: (() => void)[] = [];

  private constructor(
    readonly socket: dgram.Socket,
    readonly server: Endpoint,
    public creds: { username: string; password: string },
  ) {
    socket.on('message', (raw, rinfo) => {
      const from = { ip: rinfo.address, port: rinfo.port };
      if (looksLikeChannelData(raw)) {
        const cd = parseChannelData(raw);
        if (cd) this.arrive({ kind: 'channel', channel: cd.channel, data: Buffer.from(cd.payload), from });
        return;
      }
      const msg = looksLikeStun(raw) ? parseStun(raw, TURN_MAX_BYTES) : null;
      if (msg && msg.type === stunType(TURN_METHOD.DATA, 'INDICATION')) {
        return this.arrive({ kind: 'data', peer: msg.xorPeerAddresses?.[0], data: Buffer.from(msg.data ?? Buffer.alloc(0)), from });
      }
      const waiter = msg ? this.pending.get(msg.transactionId.toString('hex')) : undefined;
      if (msg && waiter) return waiter(msg, raw);
      this.arrive({ kind: 'raw', data: raw, from });
    });
  }

  static async open(server: Endpoint, creds: { username: string; password: string }, host = '127.0.0.1'): Promise<TurnClient> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, host, resolve));
    return new TurnClient(socket, server, creds);
  }

  get port(): number {
    return this.socket.address().port;
  }

  get key(): Buffer {
    return longTermKey(this.creds.username, this.realm ?? '', this.creds.password);
  }

  /** A request with long-term credentials: sent unsigned first (or with the last nonce), retried once on 401/438. */
  async request(method: number, attrs: StunAttributes = {}): Promise<Answer> {
    let answer = await this.once(method, attrs);
    if ((answer.errorCode === 401 || answer.errorCode === 438) && answer.nonce) {
      this.realm = answer.realm;
      this.nonce = answer.nonce;
      answer = await this.once(method, attrs);
    }
    return answer;
  }

  /** One transaction, signed when a nonce is known. */
  async once(method: number, attrs: StunAttributes, txn: Buffer = randomBytes(12)): Promise<Answer> {
    const signed = this.nonce !== undefined;
    const all = signed ? { ...attrs, username: this.creds.username, realm: this.realm, nonce: this.nonce } : attrs;
    return this.transact(encodeStun(stunType(method, 'REQUEST'), txn, all, signed ? this.key : undefined));
  }

  /** Sends an encoded request and waits for the response with its transaction id. */
  transact(packet: Buffer, timeoutMs = 5000): Promise<Answer> {
    const txn = packet.subarray(8, 20).toString('hex');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(txn);
        reject(new Error('no TURN response'));
      }, timeoutMs);
      this.pending.set(txn, (msg, raw) => {
        clearTimeout(timer);
        this.pending.delete(txn);
        const signed = msg.integrityAt !== undefined && verifyIntegrity(raw, msg, this.key);
        resolve({ ...msg, signed });
      });
      this.socket.send(packet, this.server.port, this.server.ip);
    });
  }

  allocate(extra: StunAttributes = {}): Promise<Answer> {
    return this.request(TURN_METHOD.ALLOCATE, { requestedTransport: TRANSPORT_UDP, ...extra });
  }

  refresh(lifetime?: number): Promise<Answer> {
    return this.request(TURN_METHOD.REFRESH, lifetime === undefined ? {} : { lifetime });
  }

  permit(...ips: string[]): Promise<Answer> {
    return this.request(TURN_METHOD.CREATE_PERMISSION, { xorPeerAddresses: ips.map((ip) => ({ ip, port: 0 })) });
  }

  bindChannel(channel: number, peer: Endpoint): Promise<Answer> {
    return this.request(TURN_METHOD.CHANNEL_BIND, { channelNumber: channel, xorPeerAddresses: [peer] });
  }

  /** A Send indication toward `peer`. */
  send(peer: Endpoint, data: Buffer): void {
    this.socket.send(encodeStun(stunType(TURN_METHOD.SEND, 'INDICATION'), randomBytes(12), { xorPeerAddresses: [peer], data }), this.server.port, this.server.ip);
  }

  channelData(channel: number, data: Buffer): void {
    this.socket.send(encodeChannelData(channel, data), this.server.port, this.server.ip);
  }

  /** A raw datagram from this client's socket, as a peer would send it. */
  sendRaw(data: Buffer, to: Endpoint): void {
    this.socket.send(data, to.port, to.ip);
  }

  /** Waits until `n` arrivals match `pred` (counting those already there); returns them. */
  async waitArrivals(n: number, pred: (a: Arrival) => boolean = () => true, timeoutMs = 5000): Promise<Arrival[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = this.arrivals.filter(pred);
      if (got.length >= n) return got;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${n} arrivals (have ${got.length})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private arrive(a: Arrival): void {
    this.arrivals.push(a);
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
