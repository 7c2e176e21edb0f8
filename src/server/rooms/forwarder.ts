import { createHmac, randomBytes } from 'node:crypto';
import type dgram from 'node:dgram';
import { encodeStun, STUN_BINDING_ERROR, STUN_BINDING_SUCCESS, verifyIntegrity, type ForwardOffer, type StunMessage } from '../../protocol';
import type { Clock } from '../clock';
import type { Logger } from '../logger';
import type { Session } from '../registry';
import { TokenBucket } from '../token-bucket';
import { Caps } from '../turn/allocation';
import { ipv4Of } from '../turn/ip';
import type { ForwardLimits } from './forward-limits';

/** RTP (and RTCP) as the forwarder takes it: a 12-byte header at least, one MTU at most. */
const MIN_MEDIA_BYTES = 12;
const MAX_MEDIA_BYTES = 1500;

export interface ForwardEnv {
  clock: Clock;
  log: Logger;
  limits: ForwardLimits;
  /** The server's UDP port: where members send, and what `forward.port` says. */
  udpPort: () => number;
  /** Sends from the server's UDP port. */
  send(packet: Buffer, port: number, address: string): void;
}

/** What the forwarder has done; counts only grow. */
export interface ForwardCounters {
  /** Packets and bytes sent out to members (one packet in, up to members − 1 out). */
  forwarded: { packets: number; bytes: number };
  /** Binding requests that registered or refreshed a member. */
  bindings: number;
  /** Binding requests from a member's new address answered with a nonce to prove it (401). */
  challenged: number;
  dropped: {
    /** Binding requests with an unknown username or a wrong MESSAGE-INTEGRITY. */
    auth: number;
    /** Media from an address no member registered (or whose registration lapsed). */
    unregistered: number;
    /** From a member, but not RTP of a sane size. */
    malformed: number;
    /** Over the member's packet or byte rate. */
    rate: number;
  };
  /** Members cut off for sending over their caps. */
  cutOff: number;
}

/** One member as the forwarder knows it: its credentials and, once it registered, its address. */
interface Member {
  readonly session: Session;
  readonly room: string;
  readonly peers: Set<Member>;
  readonly username: string;
  readonly key: Buffer;
  address: string;
  port: number;
  /** `address|port` while registered, else null. */
  at: string | null;
  refreshedAt: number;
  caps: Caps | null;
  overCap: TokenBucket | null;
}

/**
 * The room forwarder on the server's UDP port (an SFU without the S: no decoding, no choosing).
 * A member proves itself with a Binding request signed with its short-term credentials
 * (RFC 8489 §9.1); the source of the latest valid one is its media address. RTP from a
 * registered address is copied, byte for byte, to the room's other registered members. It never
 * sees a media key: the payload is sealed end to end with sender keys.
 */
export class Forwarder {
  readonly counters: ForwardCounters = { forwarded: { packets: 0, bytes: 0 }, bindings: 0, challenged: 0, dropped: { auth: 0, unregistered: 0, malformed: 0, rate: 0 }, cutOff: 0 };
  private readonly rooms = new Map<string, Set<Member>>();
  private readonly bySession = new Map<Session, Member>();
  private readonly byUser = new Map<string, Member>();
  private readonly byAddress = new Map<string, Member>();
  /** Keys this process's proofs of address: a nonce names one address and is good for no other. */
  private readonly nonceKey = randomBytes(32);

  constructor(private readonly env: ForwardEnv) {}

  /** The nonce a request from `at` must carry to register there: only whoever receives at `at` learns it. */
  private nonceFor(at: string): string {
    return createHmac('sha256', this.nonceKey).update(at).digest('base64url').slice(0, 22);
  }

  /** Members registered now (their registration not lapsed). */
  get registered(): number {
    const now = this.env.clock.now();
    let n = 0;
    for (const m of this.byAddress.values()) if (this.live(m, now)) n++;
    return n;
  }

  /** Admits a member of `room` (a key the broker chooses): fresh credentials, no address yet. */
  admit(room: string, session: Session): ForwardOffer {
    this.evict(session);
    let peers = this.rooms.get(room);
    if (!peers) this.rooms.set(room, (peers = new Set()));
    const username = randomBytes(24).toString('base64url');
    const password = randomBytes(24).toString('base64url');
    const m: Member = { session, room, peers, username, key: Buffer.from(password, 'utf8'), address: '', port: 0, at: null, refreshedAt: 0, caps: null, overCap: null };
    peers.add(m);
    this.bySession.set(session, m);
    this.byUser.set(username, m);
    return { port: this.env.udpPort(), username, password };
  }

  /** The member left its room: nothing more is forwarded from or to it, from now. */
  evict(session: Session): void {
    const m = this.bySession.get(session);
    if (!m) return;
    this.unregister(m);
    this.bySession.delete(session);
    this.byUser.delete(m.username);
    m.peers.delete(m);
    if (m.peers.size === 0 && this.rooms.get(m.room) === m.peers) this.rooms.delete(m.room);
  }

  /** A Binding request with credentials: registers (or refreshes, or moves) its member, or is dropped. */
  binding(msg: StunMessage, packet: Buffer, rinfo: dgram.RemoteInfo): void {
    const m = msg.username === undefined ? undefined : this.byUser.get(msg.username);
    if (!m || !verifyIntegrity(packet, msg, m.key)) return void this.counters.dropped.auth++;
    const ip = ipv4Of(rinfo.address);
    if (!ip) return void this.counters.dropped.malformed++;
    const now = this.env.clock.now();
    const at = `${rinfo.address}|${rinfo.port}`;
    if (m.at !== at && msg.nonce !== this.nonceFor(at)) {
      // Not yet shown to receive there: a source address is easily forged, and a member must
      // not point its room's media at someone else. The answer is no larger than the request.
      this.counters.challenged++;
      const challenge = { errorCode: 401, errorReason: 'Unauthorized', nonce: this.nonceFor(at) };
      return void this.env.send(encodeStun(STUN_BINDING_ERROR, msg.transactionId, challenge, m.key), rinfo.port, rinfo.address);
    }
    if (m.at !== at) {
      // A new address: NAT rebinding, or a first registration. Whoever held it before loses it.
      this.unregister(m);
      const holder = this.byAddress.get(at);
      if (holder) this.unregister(holder);
      m.at = at;
      m.address = rinfo.address;
      m.port = rinfo.port;
      this.byAddress.set(at, m);
    }
    if (!m.caps || !m.overCap) {
      m.caps = new Caps(this.env.limits, now);
      m.overCap = new TokenBucket(this.env.limits.overCapBudget, now);
    }
    m.refreshedAt = now;
    this.counters.bindings++;
    this.env.send(encodeStun(STUN_BINDING_SUCCESS, msg.transactionId, { xorMappedAddress: { ip, port: rinfo.port } }, m.key), rinfo.port, rinfo.address);
  }

  /** A datagram that is neither STUN nor ChannelData: a member's media, or dropped. */
  media(packet: Buffer, rinfo: dgram.RemoteInfo): void {
    const m = this.byAddress.get(`${rinfo.address}|${rinfo.port}`);
    const now = this.env.clock.now();
    if (!m || !this.live(m, now)) {
      if (m) this.unregister(m);
      return void this.counters.dropped.unregistered++;
    }
    if (packet.length < MIN_MEDIA_BYTES || packet.length > MAX_MEDIA_BYTES || (packet[0] & 0xc0) !== 0x80) return void this.counters.dropped.malformed++;
    if (!m.caps!.admit(packet.length, now)) {
      this.counters.dropped.rate++;
      if (m.overCap!.charge(1, now) < 0) this.cutOff(m);
      return;
    }
    const { forwarded } = this.counters;
    for (const o of m.peers) {
      if (o === m || o.at === null || !this.live(o, now)) continue;
      this.env.send(packet, o.port, o.address);
      forwarded.packets++;
      forwarded.bytes += packet.length;
    }
  }

  private live(m: Member, now: number): boolean {
    return m.at !== null && now - m.refreshedAt <= this.env.limits.lapseMs;
  }

  /** Sustained sending over its caps: its registration goes (it may register again). */
  private cutOff(m: Member): void {
    this.counters.cutOff++;
    this.env.log.warn('forwarder: cut off a room member sending over its caps', { name: m.session.name, client: `${m.address}:${m.port}` });
    this.unregister(m);
  }

  private unregister(m: Member): void {
    if (m.at === null) return;
    if (this.byAddress.get(m.at) === m) this.byAddress.delete(m.at);
    m.at = null;
    m.caps = null;
    m.overCap = null;
  }
}
