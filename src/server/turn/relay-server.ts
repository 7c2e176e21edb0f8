import dgram from 'node:dgram';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  CHANNEL_MAX,
  CHANNEL_MIN,
  classOf,
  encodeChannelData,
  encodeStun,
  longTermKey,
  methodOf,
  parseChannelData,
  stunType,
  TRANSPORT_UDP,
  TURN_MAX_BYTES,
  TURN_METHOD,
  verifyIntegrity,
  type StunAttributes,
  type StunMessage,
} from '../../protocol';
import type { CallRecord } from '../call-broker';
import type { Clock } from '../clock';
import type { Logger } from '../logger';
import type { Session } from '../registry';
import { Allocation, type Endpoint } from './allocation';
import { AllocationTable } from './allocation-table';
import { newCounters, type RelayCounters } from './counters';
import { parseTurnUser, turnPassword, TURN_REALM, type ParsedTurnUser } from './credentials';
import { ipv4Of, isLoopback } from './ip';
import { NonceMint } from './nonce';
import { otherParty, peerAllowed, portAllowed, type OtherParty, type RelayLimits } from './relay-policy';
import { SourceLimits } from './sources';

/** Room a Data indication needs around its payload (header, XOR-PEER-ADDRESS, DATA, FINGERPRINT). */
const DATA_INDICATION_OVERHEAD = 64;

export interface RelayEnv {
  secret: string;
  /** The server's listening address: relay sockets bind it. */
  host: string;
  clock: Clock;
  /** Unix seconds, for credential expiry. */
  nowS: () => number;
  log: Logger;
  limits: RelayLimits;
  /** Sends to a client from the server's UDP port (the one its requests came to). */
  reply(packet: Buffer, port: number, address: string): void;
  udpPort: () => number;
  /** A live call by id, and whether a session still holds its name. */
  call(callId: string): CallRecord | undefined;
  registered(session: Session): boolean;
}

/** A client as one datagram shows it: its IPv4 address, port, and the address to answer. */
interface Source extends Endpoint {
  address: string;
}

interface Authenticated {
  username: string;
  user: ParsedTurnUser;
  key: Buffer;
}

/**
 * The embedded TURN relay (RFC 8656, UDP only) on the server's UDP port: long-term credentials
 * minted per call and party, allocations only for the parties of a live call, permissions and
 * channels only toward the other party, and per-allocation caps in each direction. Requests are
 * answered or dropped, never thrown: the UDP service calls in once per datagram.
 */
export class TurnRelay {
  readonly counters: RelayCounters = newCounters();
  private readonly table: AllocationTable;
  private readonly nonces: NonceMint;
  private readonly sources: SourceLimits;
  private readonly allowLoopback: boolean;
  private readonly socketType: 'udp4' | 'udp6';
  private readonly txn = randomBytes(12);

  constructor(private readonly env: RelayEnv) {
    this.nonces = new NonceMint(env.clock);
    this.sources = new SourceLimits(env.limits.requestsPerAddress, env.clock);
    this.allowLoopback = isLoopback(env.host);
    this.socketType = net.isIPv4(env.host) ? 'udp4' : 'udp6';
    this.table = new AllocationTable(net.isIPv4(env.host) && env.host !== '0.0.0.0' ? env.host : undefined);
  }

  /** The relay hands out IPv4 addresses only: it runs on an IPv4 host or the dual-stack `::`. */
  static supports(host: string): boolean {
    return net.isIPv4(host) || host === '::';
  }

  /** A STUN message other than Binding arrived on the server's UDP port. */
  stun(msg: StunMessage, packet: Buffer, rinfo: dgram.RemoteInfo): void {
    try {
      this.onStun(msg, packet, rinfo);
    } catch (err) {
      this.counters.dropped.malformed++;
      this.env.log.warn('relay: could not handle a request', { remote: `${rinfo.address}:${rinfo.port}`, error: (err as Error).message });
    }
  }

  /** ChannelData from a client: relayed to the peer its channel is bound to. */
  channelData(packet: Buffer, rinfo: dgram.RemoteInfo): void {
    try {
      const cd = parseChannelData(packet);
      if (!cd) return void this.counters.dropped.malformed++;
      const a = this.table.client(rinfo.address, rinfo.port);
      const peer = a?.state === 'open' ? a.peerOf(cd.channel, this.env.clock.now()) : null;
      if (!a || !peer) return void this.counters.dropped.permission++;
      this.toPeer(a, peer, cd.payload);
    } catch (err) {
      this.counters.dropped.malformed++;
      this.env.log.warn('relay: could not relay channel data', { remote: `${rinfo.address}:${rinfo.port}`, error: (err as Error).message });
    }
  }

  /** A datagram on the server's UDP port that is neither STUN nor ChannelData we can read. */
  malformed(): void {
    this.counters.dropped.malformed++;
  }

  /** The call ended: its allocations go, their sockets closed. */
  endCall(callId: string): void {
    for (const a of this.table.ofCall(callId)) this.remove(a, 'call ended');
  }

  close(): void {
    for (const a of this.table.all()) this.remove(a, 'server shutdown');
    this.sources.clear();
  }

  // ---- requests ------------------------------------------------------------------------------

  private onStun(msg: StunMessage, packet: Buffer, rinfo: dgram.RemoteInfo): void {
    const ip = ipv4Of(rinfo.address);
    if (!ip) return void this.counters.dropped.malformed++;
    const from: Source = { ip, port: rinfo.port, address: rinfo.address };
    const cls = classOf(msg.type);
    const method = methodOf(msg.type);
    if (cls === 'INDICATION' && method === TURN_METHOD.SEND) return this.sendIndication(msg, from);
    if (cls !== 'REQUEST') return void this.counters.dropped.malformed++;
    if (!this.sources.admit(ip)) return void this.counters.dropped.rate++;
    if (method !== TURN_METHOD.ALLOCATE && method !== TURN_METHOD.REFRESH && method !== TURN_METHOD.CREATE_PERMISSION && method !== TURN_METHOD.CHANNEL_BIND) {
      return this.answer(msg, from, { errorCode: 400, errorReason: 'Bad Request: not a TURN request this relay serves' });
    }
    const auth = this.authenticate(msg, packet, from);
    if (!auth) return;
    if (method === TURN_METHOD.ALLOCATE) return this.allocate(msg, from, auth);
    const a = this.table.client(from.address, from.port);
    if (!a || a.state !== 'open') return this.answer(msg, from, { errorCode: 437, errorReason: 'Allocation Mismatch' }, auth.key);
    if (a.username !== auth.username) return this.answer(msg, from, { errorCode: 441, errorReason: 'Wrong Credentials' }, auth.key);
    if (method === TURN_METHOD.REFRESH) return this.refresh(msg, from, a);
    if (method === TURN_METHOD.CREATE_PERMISSION) return this.createPermission(msg, from, a);
    return this.channelBind(msg, from, a);
  }

  /**
   * The long-term credential mechanism (RFC 8489 §9.2): no MESSAGE-INTEGRITY → 401 with REALM
   * and a NONCE; a nonce that is not ours for this address or has expired → 438 with a new one;
   * the key is MD5(username:realm:password), the password recomputed from the shared secret.
   * Expiry is checked at Allocate only (see credentials.ts).
   */
  private authenticate(msg: StunMessage, packet: Buffer, from: Source): Authenticated | null {
    const challenge = (code: number, reason: string) => {
      this.answer(msg, from, { errorCode: code, errorReason: reason, realm: TURN_REALM, nonce: this.nonces.issue(from.ip, from.port) });
      return null;
    };
    if (msg.integrityAt === undefined || msg.username === undefined) return challenge(401, 'Unauthorized');
    if (msg.nonce === undefined || !this.nonces.valid(msg.nonce, from.ip, from.port)) return challenge(438, 'Stale Nonce');
    if (msg.realm !== TURN_REALM) return challenge(401, 'Unauthorized: wrong realm');
    const user = parseTurnUser(msg.username);
    if (!user) return challenge(401, 'Unauthorized');
    const key = longTermKey(msg.username, TURN_REALM, turnPassword(this.env.secret, msg.username));
    if (!verifyIntegrity(packet, msg, key)) return challenge(401, 'Unauthorized');
    return { username: msg.username, user, key };
  }

  private allocate(msg: StunMessage, from: Source, auth: Authenticated): void {
    const { limits } = this.env;
    const existing = this.table.client(from.address, from.port);
    if (existing) {
      // A retransmission gets the same answer (once it exists); anything else is a mismatch.
      if (existing.allocateTxn === msg.transactionId.toString('hex') && existing.username === auth.username) {
        if (existing.allocateReply) this.env.reply(existing.allocateReply, from.port, from.address);
        return;
      }
      return this.answer(msg, from, { errorCode: 437, errorReason: 'Allocation Mismatch' }, auth.key);
    }
    if (msg.requestedTransport === undefined) return this.answer(msg, from, { errorCode: 400, errorReason: 'Bad Request: no REQUESTED-TRANSPORT' }, auth.key);
    if (msg.requestedTransport !== TRANSPORT_UDP) return this.answer(msg, from, { errorCode: 442, errorReason: 'Unsupported Transport Protocol' }, auth.key);
    if (auth.user.expiry <= this.env.nowS()) {
      return this.answer(msg, from, { errorCode: 401, errorReason: 'Unauthorized: credentials expired', realm: TURN_REALM, nonce: this.nonces.issue(from.ip, from.port) });
    }
    const call = this.env.call(auth.user.callId);
    const party = call ? partyNamed(call, auth.user.name) : null;
    if (!call || !party || !this.env.registered(party)) {
      return this.answer(msg, from, { errorCode: 403, errorReason: 'Forbidden: not a party of a live call' }, auth.key);
    }
    if (this.table.size >= limits.maxAllocations) return this.answer(msg, from, { errorCode: 486, errorReason: 'Allocation Quota Reached' }, auth.key);
    if (this.table.count(call.id, party.name) >= limits.allocationsPerParty) return this.answer(msg, from, { errorCode: 486, errorReason: 'Allocation Quota Reached: per party' }, auth.key);
    // On a wildcard address, the address the party's own connection reached (see issuer.ts).
    const relayIp = net.isIPv4(this.env.host) && this.env.host !== '0.0.0.0' ? this.env.host : ipv4Of(party.localAddress ?? '');
    if (!relayIp) return this.answer(msg, from, { errorCode: 508, errorReason: 'Insufficient Capacity: no IPv4 relay address' }, auth.key);
    const lifetime = this.lifetime(msg.lifetime);
    const now = this.env.clock.now();
    const a = new Allocation(from, from.address, auth.username, auth.user, auth.key, msg.transactionId.toString('hex'), limits, now);
    this.table.add(a);
    this.counters.allocations++;
    const socket = dgram.createSocket(this.socketType);
    a.socket = socket;
    socket.on('message', (p, r) => this.fromPeer(a, p, r));
    const failed = (err: Error) => {
      this.env.log.warn('relay: cannot open a relay socket', { call: short(call.id), name: party.name, error: err.message });
      if (a.state === 'binding') this.answer(msg, from, { errorCode: 508, errorReason: 'Insufficient Capacity' }, auth.key);
      this.remove(a, 'socket error');
      closeQuietly(socket);
    };
    socket.once('error', failed);
    socket.bind(0, this.env.host, () => {
      socket.off('error', failed);
      socket.on('error', (err) => this.env.log.debug('relay socket error', { call: short(call.id), error: err.message }));
      if (a.state === 'closed') return closeQuietly(socket); // the call ended while it was binding
      a.state = 'open';
      a.relayed = { ip: relayIp, port: socket.address().port };
      this.table.opened(a);
      this.schedule(a, lifetime);
      a.allocateReply = response(msg, { xorRelayedAddress: a.relayed, xorMappedAddress: { ip: from.ip, port: from.port }, lifetime }, auth.key);
      this.env.reply(a.allocateReply, from.port, from.address);
      this.counters.allocationsMade++;
      this.env.log.info('relay allocated', {
        call: short(call.id),
        name: party.name,
        client: `${from.ip}:${from.port}`,
        relay: `${relayIp}:${a.relayed.port}`,
        lifetime,
      });
    });
  }

  private refresh(msg: StunMessage, from: Source, a: Allocation): void {
    if (msg.lifetime === 0) {
      this.remove(a, 'released');
      return void this.answer(msg, from, { lifetime: 0 }, a.key);
    }
    const lifetime = this.lifetime(msg.lifetime);
    this.schedule(a, lifetime);
    this.answer(msg, from, { lifetime }, a.key);
  }

  private createPermission(msg: StunMessage, from: Source, a: Allocation): void {
    const peers = msg.xorPeerAddresses ?? [];
    if (peers.length === 0) return void this.answer(msg, from, { errorCode: 400, errorReason: 'Bad Request: no XOR-PEER-ADDRESS' }, a.key);
    const other = this.otherParty(a);
    if (!other || !peers.every((p) => peerAllowed(p.ip, other, this.allowLoopback))) {
      return void this.answer(msg, from, { errorCode: 403, errorReason: 'Forbidden: only the other party of the call' }, a.key);
    }
    if (!a.permit(peers.map((p) => p.ip), this.env.clock.now())) {
      return void this.answer(msg, from, { errorCode: 508, errorReason: 'Insufficient Capacity: too many permissions' }, a.key);
    }
    this.answer(msg, from, {}, a.key);
  }

  private channelBind(msg: StunMessage, from: Source, a: Allocation): void {
    const ch = msg.channelNumber;
    const peers = msg.xorPeerAddresses ?? [];
    if (ch === undefined || ch < CHANNEL_MIN || ch > CHANNEL_MAX || peers.length !== 1) {
      return void this.answer(msg, from, { errorCode: 400, errorReason: 'Bad Request: one peer and a channel 0x4000-0x4FFF' }, a.key);
    }
    const other = this.otherParty(a);
    if (!other || !peerAllowed(peers[0].ip, other, this.allowLoopback)) {
      return void this.answer(msg, from, { errorCode: 403, errorReason: 'Forbidden: only the other party of the call' }, a.key);
    }
    const bound = a.bind(ch, peers[0], this.env.clock.now());
    if (bound === 'conflict') return void this.answer(msg, from, { errorCode: 400, errorReason: 'Bad Request: channel or peer bound otherwise' }, a.key);
    if (bound === 'full') return void this.answer(msg, from, { errorCode: 508, errorReason: 'Insufficient Capacity: too many channels' }, a.key);
    this.answer(msg, from, {}, a.key);
  }

  // ---- data ----------------------------------------------------------------------------------

  private sendIndication(msg: StunMessage, from: Source): void {
    const a = this.table.client(from.address, from.port);
    if (!a || a.state !== 'open') return void this.counters.dropped.permission++;
    const peer = msg.xorPeerAddresses?.[0];
    if (!peer || !msg.data) return void this.counters.dropped.malformed++;
    this.toPeer(a, peer, msg.data);
  }

  private toPeer(a: Allocation, peer: Endpoint, data: Buffer): void {
    const now = this.env.clock.now();
    if (!a.permitted(peer.ip, now) || !this.portAllowed(a, peer)) return void this.counters.dropped.permission++;
    if (!a.out.admit(data.length, now)) {
      this.counters.dropped.rate++;
      if (a.flooding(now)) {
        this.env.log.warn('relay: ended the allocation of a client flooding it', { call: short(a.user.callId), name: a.user.name, client: `${a.client.ip}:${a.client.port}` });
        this.remove(a, 'flooding');
      }
      return;
    }
    a.socket!.send(data, peer.port, this.peerAddress(peer.ip));
    this.counters.toPeers.packets++;
    this.counters.toPeers.bytes += data.length;
  }

  /** A datagram at an allocation's socket: to its client if it comes from a permitted peer. */
  private fromPeer(a: Allocation, packet: Buffer, rinfo: dgram.RemoteInfo): void {
    try {
      if (a.state !== 'open') return;
      const ip = ipv4Of(rinfo.address);
      const now = this.env.clock.now();
      const peer = { ip: ip ?? '', port: rinfo.port };
      if (!ip || !a.permitted(ip, now) || !this.portAllowed(a, peer)) return void this.counters.dropped.permission++;
      if (packet.length > TURN_MAX_BYTES - DATA_INDICATION_OVERHEAD) return void this.counters.dropped.malformed++;
      if (!a.in.admit(packet.length, now)) return void this.counters.dropped.rate++;
      const ch = a.channelOf(peer, now);
      const out = ch !== null ? encodeChannelData(ch, packet) : encodeStun(stunType(TURN_METHOD.DATA, 'INDICATION'), this.nextTxn(), { xorPeerAddresses: [peer], data: packet });
      this.env.reply(out, a.client.port, a.clientAddress);
      this.counters.toClients.packets++;
      this.counters.toClients.bytes += packet.length;
    } catch (err) {
      this.counters.dropped.malformed++;
      this.env.log.warn('relay: could not relay a peer datagram', { error: (err as Error).message });
    }
  }

  // ---- policy and bookkeeping ----------------------------------------------------------------

  private otherParty(a: Allocation): OtherParty | null {
    const call = this.env.call(a.user.callId);
    return call ? otherParty(call, a.user.name, this.table) : null;
  }

  private portAllowed(a: Allocation, peer: Endpoint): boolean {
    return portAllowed(a, peer, this.table, this.env.udpPort());
  }

  private lifetime(asked: number | undefined): number {
    const { defaultLifetimeS, maxLifetimeS } = this.env.limits;
    return asked === undefined ? defaultLifetimeS : Math.min(maxLifetimeS, Math.max(defaultLifetimeS, asked));
  }

  private schedule(a: Allocation, lifetimeS: number): void {
    if (a.timer) this.env.clock.clearTimeout(a.timer);
    a.expiresAt = this.env.clock.now() + lifetimeS * 1000;
    a.timer = this.env.clock.setTimeout(() => this.remove(a, 'expired'), lifetimeS * 1000);
  }

  private remove(a: Allocation, reason: string): void {
    if (a.state === 'closed') return;
    const wasOpen = a.state === 'open';
    a.state = 'closed';
    this.table.delete(a);
    if (a.timer) this.env.clock.clearTimeout(a.timer);
    a.timer = null;
    this.counters.allocations--;
    // A socket still binding is closed by its bind callback, which sees the state.
    if (wasOpen && a.socket) closeQuietly(a.socket);
    this.env.log.info('relay allocation ended', { call: short(a.user.callId), name: a.user.name, reason });
  }

  private answer(msg: StunMessage, to: Source, attrs: StunAttributes, key?: Buffer): void {
    this.env.reply(response(msg, attrs, key), to.port, to.address);
  }

  private peerAddress(ip: string): string {
    return this.socketType === 'udp6' ? `::ffff:${ip}` : ip;
  }

  private nextTxn(): Buffer {
    this.txn.writeUInt32BE((this.txn.readUInt32BE(8) + 1) >>> 0, 8);
    return Buffer.from(this.txn);
  }
}

/** The success or error response to `msg`, signed with `key` when given. */
function response(msg: StunMessage, attrs: StunAttributes, key?: Buffer): Buffer {
  const type = stunType(methodOf(msg.type), attrs.errorCode === undefined ? 'SUCCESS' : 'ERROR');
  return encodeStun(type, msg.transactionId, attrs, key);
}

function partyNamed(call: CallRecord, name: string): Session | null {
  return call.caller.name === name ? call.caller : call.callee.name === name ? call.callee : null;
}

function closeQuietly(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}

function short(id: string): string {
  return id.slice(0, 8);
}
