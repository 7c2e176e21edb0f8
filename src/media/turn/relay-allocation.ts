/**
 * The client side of TURN (RFC 8656) on a call's media socket: an allocation on a TURN server
 * gives the socket a relayed address, reachable by peers no direct path reaches. Requests and
 * relayed media share the socket; an interceptor on the UdpLink takes the server's datagrams
 * before ICE and RTP see them, and hands relayed payloads up as if they came from the peer.
 */
import { lookup } from 'node:dns/promises';
import { EventEmitter } from 'node:events';
import { isIPv4 } from 'node:net';
import { realTimers, type TimerHandle, type Timers } from '../../audio/timers';
import {
  TRANSPORT_UDP,
  TURN_MAX_BYTES,
  TURN_METHOD,
  classOf,
  encodeChannelData,
  encodeStun,
  looksLikeChannelData,
  looksLikeStun,
  methodOf,
  parseChannelData,
  parseStun,
  stunType,
  type StunMessage,
} from '../../protocol/stun';
import { addressScope } from '../candidates';
import type { Address, UdpLink } from '../udp-link';
import { Channels, QUEUE_PER_PEER, nextChannelState, type Channel, type ChannelEvent } from './channels';
import { RelayError, codeForStatus, statusText } from './errors';
import { LongTermAuth, Transactions, authenticatedRequest, type Answer } from './turn-transaction';

export interface TurnServerConfig {
  host: string;
  port: number;
  username: string;
  password: string;
}

export interface RelayOptions {
  timers?: Timers;
  /** How long one request is retransmitted before it counts as unanswered (default 3000 ms). */
  timeoutMs?: number;
  /** The allocation lifetime to ask for, in seconds; the server's default (600) otherwise. */
  lifetimeS?: number;
  /** Aborting closes the allocation, or rejects `allocate` with a 'closed' RelayError. */
  signal?: AbortSignal;
  /** Every how many seconds bound channels are bound again (default 240: within the 5-minute permission). */
  channelRefreshS?: number;
}

export interface RelayEvents {
  /** A relayed payload and the peer that sent it. */
  packet: [Buffer, Address];
  /** The allocation is gone: `closed` after close(), otherwise why it was lost. Emitted once. */
  closed: [string];
}

export interface RelayStats {
  /** Payloads sent as ChannelData / as Send indications. */
  sentChannelData: number;
  sentIndications: number;
  /** Payloads relayed to us (ChannelData and Data indications). */
  received: number;
  /** Sends dropped: to a refused peer; past the per-peer queue while binding; with no channel to go by (bind failed, or past the 16 peers); too big; after close. */
  droppedRefused: number;
  droppedQueueFull: number;
  droppedUnbound: number;
  droppedTooBig: number;
  droppedClosed: number;
  /** Received and dropped: ChannelData on a channel we never bound; Data from an IP we never permitted. */
  droppedUnknownChannel: number;
  droppedUnpermitted: number;
  /** Datagrams from the server that were not well-formed TURN. */
  malformed: number;
  /** permit() calls past MAX_PEERS, or for an address no relay can reach. */
  peersRejected: number;
  /** Refresh and ChannelBind requests sent to keep the allocation and its channels alive. */
  refreshes: number;
  channelRefreshes: number;
  /** Requests sent again for want of an answer. */
  retransmits: number;
}

/** The largest payload that fits a Send indication (20 + 12 + 4 + payload + padding + 8) within TURN_MAX_BYTES. */
const MAX_PAYLOAD = TURN_MAX_BYTES - 48;
/** RFC 8656 §7.2: the lifetime a server gives when the client asks for none. */
const DEFAULT_LIFETIME_S = 600;
/** Before a bind is tried again after one failed without a refusal. */
const BIND_RETRY_MS = 5_000;
/** Before a failed Refresh is tried again, while the allocation has time left. */
const REFRESH_RETRY_MS = 1_000;

type AllocationState =
  | { kind: 'allocating' }
  | { kind: 'open'; lifetimeS: number; expiresAt: number; timer: TimerHandle | undefined }
  | { kind: 'closed'; reason: string };

type AllocationEvent =
  | { type: 'allocated'; lifetimeS: number }
  | { type: 'refreshed'; lifetimeS: number }
  /** A Refresh went unanswered: try again if there is time, else the allocation is lost. */
  | { type: 'refresh_timeout' }
  | { type: 'lost'; reason: string }
  | { type: 'close' };

export class RelayAllocation extends EventEmitter<RelayEvents> {
  private state: AllocationState = { kind: 'allocating' };
  private readonly timers: Timers;
  private readonly timeoutMs: number;
  private readonly channelRefreshMs: number;
  private readonly tx: Transactions;
  private readonly auth: LongTermAuth;
  private readonly channels = new Channels();
  private readonly unintercept: () => void;
  /** The channel the last send went to: a call sends to one peer, so the map is rarely asked. */
  private last: Channel | undefined;
  private relayed_: Address = { ip: '0.0.0.0', port: 0 };
  private mapped_: Address | null = null;

  readonly stats: RelayStats = {
    sentChannelData: 0,
    sentIndications: 0,
    received: 0,
    droppedRefused: 0,
    droppedQueueFull: 0,
    droppedUnbound: 0,
    droppedTooBig: 0,
    droppedClosed: 0,
    droppedUnknownChannel: 0,
    droppedUnpermitted: 0,
    malformed: 0,
    peersRejected: 0,
    refreshes: 0,
    channelRefreshes: 0,
    retransmits: 0,
  };

  private constructor(
    private readonly link: UdpLink,
    readonly server: Address,
    config: TurnServerConfig,
    private readonly opts: RelayOptions,
  ) {
    super();
    this.timers = opts.timers ?? realTimers;
    this.timeoutMs = opts.timeoutMs ?? 3000;
    this.channelRefreshMs = (opts.channelRefreshS ?? 240) * 1000;
    this.tx = new Transactions(link, server, this.timers, this.timeoutMs);
    this.auth = new LongTermAuth(config.username, config.password);
    this.unintercept = link.intercept(this.onDatagram);
  }

  /**
   * Makes an allocation for `link`'s socket on `server` (an IPv4 address or a name that resolves
   * to one). Rejects with a RelayError: 'timeout' when the server does not answer, 'unauthorized'
   * (401), 'forbidden' (403), 'quota' (486, 508), 'refused' (anything else), 'closed' (aborted).
   */
  static async allocate(link: UdpLink, server: TurnServerConfig, opts: RelayOptions = {}): Promise<RelayAllocation> {
    const ip = await resolve(server.host);
    const a = new RelayAllocation(link, { ip, port: server.port }, server, opts);
    await a.start();
    return a;
  }

  /** XOR-RELAYED-ADDRESS: the relay candidate. */
  get relayed(): Address {
    return this.relayed_;
  }

  /** XOR-MAPPED-ADDRESS: the server-reflexive address the server saw, when it said. */
  get mapped(): Address | null {
    return this.mapped_;
  }

  /** The lifetime the server last granted, in seconds (0 before the allocation is made or after it ends). */
  get lifetimeS(): number {
    return this.state.kind === 'open' ? this.state.lifetimeS : 0;
  }

  get closed(): boolean {
    return this.state.kind === 'closed';
  }

  /** Whether the server refused a permission for this peer's IP (403 on ChannelBind). */
  refused(peer: Address): boolean {
    return this.channels.refused(peer.ip);
  }

  /**
   * Binds a channel to `peer` ahead of the first send (the binding installs the permission too).
   * Idempotent; at most MAX_PEERS peers, IPv4 only; the rest are counted and ignored.
   */
  permit(peer: Address): void {
    if (this.state.kind !== 'open' || this.channels.get(peer) || this.channels.refused(peer.ip)) return;
    if (!isIPv4(peer.ip) || addressScope(peer.ip) === 'unusable' || !(Number.isInteger(peer.port) && peer.port > 0 && peer.port < 65536)) {
      this.stats.peersRejected++;
      return;
    }
    const ch = this.channels.add(peer);
    if (!ch) {
      this.stats.peersRejected++;
      return;
    }
    void this.bind(ch);
  }

  /**
   * Relays `buf` to `to`: as ChannelData once its channel is bound; as a Send indication while a
   * bind is in flight if the server already holds a permission for the IP; otherwise held (a few
   * packets, copied) until the bind succeeds. An unknown peer is permitted first.
   */
  send(buf: Buffer, to: Address): void {
    if (this.state.kind !== 'open') {
      this.stats.droppedClosed++;
      return;
    }
    if (buf.length > MAX_PAYLOAD) {
      this.stats.droppedTooBig++;
      return;
    }
    let ch = this.last;
    if (!ch || ch.peer.port !== to.port || ch.peer.ip !== to.ip) {
      ch = this.channels.get(to);
      if (!ch) {
        this.permit(to);
        ch = this.channels.get(to);
      }
      if (!ch) {
        if (this.channels.refused(to.ip)) this.stats.droppedRefused++;
        else this.stats.droppedUnbound++;
        return;
      }
      this.last = ch;
    }
    const s = ch.state;
    if (s.kind === 'bound') {
      this.link.send(encodeChannelData(ch.number, buf), this.server);
      this.stats.sentChannelData++;
    } else if (s.kind === 'refused') {
      this.stats.droppedRefused++;
    } else if (this.channels.permitted(to.ip)) {
      this.link.send(encodeStun(stunType(TURN_METHOD.SEND, 'INDICATION'), randomId(), { xorPeerAddresses: [ch.peer], data: buf }), this.server);
      this.stats.sentIndications++;
    } else if (s.kind === 'binding' && s.queue.length < QUEUE_PER_PEER) {
      s.queue.push(Buffer.from(buf));
    } else if (s.kind === 'binding') {
      this.stats.droppedQueueFull++;
    } else {
      this.stats.droppedUnbound++;
    }
  }

  /** Idempotent: deletes the allocation on the server (Refresh, LIFETIME 0), stops every timer, lets go of the socket. */
  close(): void {
    this.transition({ type: 'close' });
  }

  // ---- the allocation's state machine ---------------------------------------------------------

  private transition(e: AllocationEvent): void {
    const s = this.state;
    if (s.kind === 'closed') return;
    switch (e.type) {
      case 'allocated':
      case 'refreshed': {
        if (s.kind === 'open') this.timers.clearTimeout(s.timer);
        const ms = e.lifetimeS * 1000;
        // A minute ahead (RFC 8656 §8), or halfway through a short lifetime; never in a storm.
        const timer = this.timers.setTimeout(() => void this.refresh(), Math.max(1000, ms - Math.min(60_000, ms / 2)));
        timer.unref();
        this.state = { kind: 'open', lifetimeS: e.lifetimeS, expiresAt: this.timers.now() + ms, timer };
        return;
      }
      case 'refresh_timeout': {
        if (s.kind !== 'open') return;
        if (this.timers.now() + REFRESH_RETRY_MS + this.timeoutMs < s.expiresAt) {
          const timer = this.timers.setTimeout(() => void this.refresh(), REFRESH_RETRY_MS);
          timer.unref();
          this.state = { ...s, timer };
          return;
        }
        return this.transition({ type: 'lost', reason: `the TURN server ${show(this.server)} did not answer Refresh before the allocation expired` });
      }
      case 'lost':
      case 'close': {
        const reason = e.type === 'lost' ? e.reason : 'closed';
        if (s.kind === 'open') {
          this.timers.clearTimeout(s.timer);
          // Frees the relayed port now rather than when the lifetime runs out; nobody waits for the answer.
          if (e.type === 'close') this.tx.fireAndForget(TURN_METHOD.REFRESH, { lifetime: 0, ...this.auth.attrs() }, this.auth.key);
        }
        this.state = { kind: 'closed', reason };
        for (const ch of this.channels.all()) {
          this.timers.clearTimeout(ch.timer);
          ch.timer = undefined;
          if (ch.state.kind === 'binding') ch.state.queue.length = 0;
        }
        this.tx.cancelAll();
        this.unintercept();
        this.emit('closed', reason);
        return;
      }
    }
  }

  private async start(): Promise<void> {
    const signal = this.opts.signal;
    const onAbort = () => this.close();
    if (signal?.aborted) this.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const attrs = { requestedTransport: TRANSPORT_UDP, ...(this.opts.lifetimeS !== undefined ? { lifetime: this.opts.lifetimeS } : {}) };
      const answer = this.state.kind === 'closed' ? ({ kind: 'cancelled' } as const) : await authenticatedRequest(this.tx, this.auth, TURN_METHOD.ALLOCATE, attrs);
      const failure = this.allocateFailure(answer);
      if (failure) throw failure;
      const msg = (answer as { msg: StunMessage }).msg;
      this.relayed_ = Object.freeze({ ...msg.xorRelayedAddress! });
      const mapped = msg.xorMappedAddress;
      this.mapped_ = mapped && addressScope(mapped.ip) !== 'unusable' && mapped.port > 0 ? Object.freeze({ ...mapped }) : null;
      this.transition({ type: 'allocated', lifetimeS: lifetimeOf(msg, this.opts.lifetimeS) });
    } catch (err) {
      this.removeAllListeners('closed');
      this.close();
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The RelayError for an Allocate answer that is not a usable allocation, or null. */
  private allocateFailure(answer: Answer): RelayError | null {
    const server = `TURN server ${show(this.server)}`;
    if (answer.kind === 'cancelled' || this.state.kind === 'closed') return new RelayError('closed', `the allocation on ${server} was closed before the server answered`);
    if (answer.kind === 'timeout') return new RelayError('timeout', `no answer from ${server} to Allocate within ${this.timeoutMs} ms`);
    const msg = answer.msg;
    if (classOf(msg.type) === 'ERROR') {
      const status = msg.errorCode ?? 0;
      return new RelayError(codeForStatus(status), `${server} answered Allocate with ${status ? statusText(status) : 'an error without a code'}`, { status });
    }
    const r = msg.xorRelayedAddress;
    if (!r || addressScope(r.ip) === 'unusable' || r.port === 0) return new RelayError('refused', `${server} answered Allocate without a usable XOR-RELAYED-ADDRESS`);
    return null;
  }

  private async refresh(): Promise<void> {
    if (this.state.kind !== 'open') return;
    this.stats.refreshes++;
    const answer = await this.request(TURN_METHOD.REFRESH, this.opts.lifetimeS !== undefined ? { lifetime: this.opts.lifetimeS } : {});
    if (this.state.kind !== 'open' || answer.kind === 'cancelled') return;
    if (answer.kind === 'timeout') return this.transition({ type: 'refresh_timeout' });
    const msg = answer.msg;
    if (classOf(msg.type) === 'ERROR' || msg.lifetime === 0) {
      const what = classOf(msg.type) === 'ERROR' ? statusText(msg.errorCode ?? 0) : 'a lifetime of 0';
      return this.transition({ type: 'lost', reason: `the TURN server ${show(this.server)} answered Refresh with ${what}` });
    }
    this.transition({ type: 'refreshed', lifetimeS: lifetimeOf(msg, this.opts.lifetimeS) });
  }

  // ---- channels -------------------------------------------------------------------------------

  private channelEvent(ch: Channel, e: ChannelEvent): void {
    const before = ch.state;
    ch.state = nextChannelState(before, e);
    if (before.kind === 'binding' && before !== ch.state && before.queue.length > 0) {
      const queued = before.queue.splice(0);
      // Bound: what waited goes out now, in order; refused or failed: it is dropped, counted.
      for (const buf of queued) {
        if (ch.state.kind === 'bound') {
          this.link.send(encodeChannelData(ch.number, buf), this.server);
          this.stats.sentChannelData++;
        } else if (ch.state.kind === 'refused') this.stats.droppedRefused++;
        else this.stats.droppedUnbound++;
      }
    }
  }

  private async bind(ch: Channel): Promise<void> {
    if (this.state.kind !== 'open') return;
    const refreshing = ch.state.kind === 'bound';
    if (refreshing) {
      this.stats.channelRefreshes++;
      this.channelEvent(ch, { type: 'refreshing' });
    }
    const answer = await this.request(TURN_METHOD.CHANNEL_BIND, { channelNumber: ch.number, xorPeerAddresses: [ch.peer] });
    if (this.state.kind !== 'open' || answer.kind === 'cancelled') return;
    const now = this.timers.now();
    let retryInMs: number;
    if (answer.kind === 'response' && classOf(answer.msg.type) === 'SUCCESS') {
      this.channelEvent(ch, { type: 'bound', at: now });
      retryInMs = this.channelRefreshMs;
    } else if (answer.kind === 'response' && answer.msg.errorCode === 403) {
      this.channels.refuse(ch.peer.ip);
      this.channelEvent(ch, { type: 'refused' });
      return;
    } else if (answer.kind === 'response' && answer.msg.errorCode === 437) {
      return this.transition({ type: 'lost', reason: `the TURN server ${show(this.server)} no longer knows the allocation (437 Allocation Mismatch)` });
    } else {
      this.channelEvent(ch, { type: 'failed', at: now });
      retryInMs = BIND_RETRY_MS;
    }
    this.timers.clearTimeout(ch.timer);
    ch.timer = this.timers.setTimeout(() => {
      ch.timer = undefined;
      this.channelEvent(ch, { type: 'rebind' });
      void this.bind(ch);
    }, retryInMs);
    ch.timer.unref();
  }

  private request(method: number, attrs: Parameters<typeof authenticatedRequest>[3]): Promise<Answer> {
    const before = this.tx.retransmits;
    return authenticatedRequest(this.tx, this.auth, method, attrs).finally(() => {
      this.stats.retransmits += this.tx.retransmits - before;
    });
  }

  // ---- what comes in ----------------------------------------------------------------------

  /** Takes the server's datagrams (never throws); everything else passes by untouched. */
  private readonly onDatagram = (buf: Buffer, from: Address): boolean => {
    if (from.port !== this.server.port || from.ip !== this.server.ip) return false;
    if (looksLikeChannelData(buf)) {
      this.onChannelData(buf);
      return true;
    }
    if (!looksLikeStun(buf)) return false;
    const msg = parseStun(buf, TURN_MAX_BYTES);
    if (!msg) {
      this.stats.malformed++;
      return true;
    }
    const cls = classOf(msg.type);
    if (cls === 'INDICATION' && methodOf(msg.type) === TURN_METHOD.DATA) {
      this.onDataIndication(msg);
      return true;
    }
    // A Binding answer for gatherReflexive, when the TURN server is also the STUN server, is not ours.
    if (cls === 'SUCCESS' || cls === 'ERROR') return this.tx.answer(buf, msg);
    return false;
  };

  private onChannelData(buf: Buffer): void {
    const cd = parseChannelData(buf);
    if (!cd) {
      this.stats.malformed++;
      return;
    }
    const ch = this.channels.byChannel(cd.channel);
    if (!ch || ch.state.kind === 'refused') {
      this.stats.droppedUnknownChannel++;
      return;
    }
    this.stats.received++;
    this.emit('packet', cd.payload, ch.peer);
  }

  private onDataIndication(msg: StunMessage): void {
    const peer = msg.xorPeerAddresses?.[0];
    if (!peer || !msg.data || peer.port === 0 || !isIPv4(peer.ip)) {
      this.stats.malformed++;
      return;
    }
    if (!this.channels.wanted(peer.ip)) {
      this.stats.droppedUnpermitted++;
      return;
    }
    this.stats.received++;
    this.emit('packet', msg.data, Object.freeze({ ip: peer.ip, port: peer.port }));
  }
}

function lifetimeOf(msg: StunMessage, asked: number | undefined): number {
  return msg.lifetime ?? asked ?? DEFAULT_LIFETIME_S;
}

function randomId(): Buffer {
  // Indications need no unguessable id: nothing answers them. Cheaper than randomBytes per packet.
  const id = Buffer.allocUnsafe(12);
  for (let i = 0; i < 12; i += 4) id.writeUInt32BE((Math.random() * 0x100000000) >>> 0, i);
  return id;
}

async function resolve(host: string): Promise<string> {
  if (isIPv4(host)) return host;
  try {
    return (await lookup(host, { family: 4 })).address;
  } catch (err) {
    throw new RelayError('refused', `cannot resolve the TURN server ${host}: ${(err as Error).message}`, { cause: err });
  }
}

function show(a: Address): string {
  return `${a.ip}:${a.port}`;
}
