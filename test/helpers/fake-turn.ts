/**
 * A hand-written TURN server over a real UDP socket, for what coturn will not do on demand: stale
 * nonces, refusals, odd answers, junk. By default it behaves: 401 with REALM and NONCE to an
 * unsigned request, 438 to a stale nonce, success (signed) to Allocate, Refresh, ChannelBind and
 * CreatePermission. `script` may answer any request itself.
 */
import dgram from 'node:dgram';
import {
  TURN_MAX_BYTES,
  TURN_METHOD,
  classOf,
  encodeStun,
  longTermKey,
  methodOf,
  parseChannelData,
  parseStun,
  stunType,
  verifyIntegrity,
  type StunAttributes,
  type StunMessage,
} from '../../src/protocol/stun';
import type { Address } from '../../src/media/udp-link';

export interface FakeRequest {
  method: number;
  msg: StunMessage;
  from: Address;
  /** Signed with the right key (and the current nonce). */
  authed: boolean;
}

/** What the script makes of a request: 'default' for the normal answer, 'drop' for none, or a datagram to send. */
export type ScriptAnswer = 'default' | 'drop' | Buffer;

export class FakeTurn {
  readonly realm = 'fake';
  nonce = 'nonce-1';
  readonly relayed: Address = { ip: '127.0.0.1', port: 49999 };
  readonly requests: FakeRequest[] = [];
  /** Send indications and ChannelData received, as [peer, payload]. */
  readonly relayedOut: { peer: Address; data: string; via: 'send' | 'channel' }[] = [];
  readonly channels = new Map<number, Address>();
  /** Peer IPs ChannelBind and CreatePermission are refused for (403). */
  readonly deny = new Set<string>();
  lifetime = 600;
  script: (req: FakeRequest, n: number) => ScriptAnswer = () => 'default';

  private constructor(
    readonly socket: dgram.Socket,
    readonly address: Address,
    readonly username: string,
    readonly password: string,
  ) {
    socket.on('message', (m, r) => this.onMessage(m, { ip: r.address, port: r.port }));
  }

  static async start(username = 'user', password = 'pass'): Promise<FakeTurn> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    return new FakeTurn(s, { ip: '127.0.0.1', port: s.address().port }, username, password);
  }

  get key(): Buffer {
    return longTermKey(this.username, this.realm, this.password);
  }

  config(): { host: string; port: number; username: string; password: string } {
    return { host: this.address.ip, port: this.address.port, username: this.username, password: this.password };
  }

  of(method: number): FakeRequest[] {
    return this.requests.filter((r) => r.method === method);
  }

  /** Sends a raw datagram from the server's socket. */
  send(buf: Buffer, to: Address): void {
    this.socket.send(buf, to.port, to.ip);
  }

  /** A Data indication from `peer`, as the server relays what the peer sent to the relayed address. */
  dataIndication(peer: Address, data: Buffer): Buffer {
    return encodeStun(stunType(TURN_METHOD.DATA, 'INDICATION'), Buffer.alloc(12, 7), { xorPeerAddresses: [peer], data });
  }

  success(req: FakeRequest, attrs: StunAttributes): Buffer {
    return encodeStun(stunType(req.method, 'SUCCESS'), req.msg.transactionId, attrs, this.key);
  }

  error(req: FakeRequest, code: number, attrs: StunAttributes = {}): Buffer {
    return encodeStun(stunType(req.method, 'ERROR'), req.msg.transactionId, { errorCode: code, errorReason: 'fake', ...attrs });
  }

  close(): void {
    this.socket.close();
  }

  private onMessage(buf: Buffer, from: Address): void {
    const cd = parseChannelData(buf);
    if (cd) {
      const peer = this.channels.get(cd.channel);
      if (peer) this.relayedOut.push({ peer, data: cd.payload.toString(), via: 'channel' });
      return;
    }
    const msg = parseStun(buf, TURN_MAX_BYTES);
    if (!msg) return;
    const method = methodOf(msg.type);
    if (classOf(msg.type) === 'INDICATION') {
      if (method === TURN_METHOD.SEND && msg.xorPeerAddresses?.[0] && msg.data) this.relayedOut.push({ peer: msg.xorPeerAddresses[0], data: msg.data.toString(), via: 'send' });
      return;
    }
    if (classOf(msg.type) !== 'REQUEST') return;
    const authed = msg.username === this.username && msg.realm === this.realm && msg.nonce === this.nonce && verifyIntegrity(buf, msg, this.key);
    const req: FakeRequest = { method, msg, from, authed };
    this.requests.push(req);
    const scripted = this.script(req, this.requests.length - 1);
    if (scripted === 'drop') return;
    const out = scripted === 'default' ? this.answer(req, buf) : scripted;
    if (out) this.send(out, from);
  }

  private answer(req: FakeRequest, raw: Buffer): Buffer | null {
    const { msg, from } = req;
    if (msg.integrityAt === undefined) return this.error(req, 401, { realm: this.realm, nonce: this.nonce });
    if (msg.nonce !== this.nonce && msg.username === this.username && verifyIntegrity(raw, msg, this.key)) return this.error(req, 438, { realm: this.realm, nonce: this.nonce });
    if (!req.authed) return this.error(req, 401, { realm: this.realm, nonce: this.nonce });
    switch (req.method) {
      case TURN_METHOD.ALLOCATE:
        return this.success(req, { xorRelayedAddress: this.relayed, xorMappedAddress: from, lifetime: msg.lifetime ?? this.lifetime });
      case TURN_METHOD.REFRESH:
        return this.success(req, { lifetime: msg.lifetime ?? this.lifetime });
      case TURN_METHOD.CHANNEL_BIND: {
        const peer = msg.xorPeerAddresses?.[0];
        if (!peer || msg.channelNumber === undefined) return this.error(req, 400);
        if (this.deny.has(peer.ip)) return this.error(req, 403);
        this.channels.set(msg.channelNumber, peer);
        return this.success(req, {});
      }
      case TURN_METHOD.CREATE_PERMISSION:
        return (msg.xorPeerAddresses ?? []).some((p) => this.deny.has(p.ip)) ? this.error(req, 403) : this.success(req, {});
      default:
        return this.error(req, 400);
    }
  }
}
