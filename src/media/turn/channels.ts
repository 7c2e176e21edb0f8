/**
 * The peers an allocation talks to, each with its TURN channel (RFC 8656 §12): a number the
 * server maps to the peer, so media goes in 4-byte ChannelData framing instead of a 36-byte
 * Send indication, and the permission (per IP) that binding installs.
 */
import type { TimerHandle } from '../../audio/timers';
import { CHANNEL_MIN } from '../../protocol/stun';
import type { Address } from '../udp-link';

/** A call has a handful of candidate pairs; more is a peer feeding us addresses. */
export const MAX_PEERS = 16;
/** Packets kept per peer while its first bind is in flight: a few, media goes stale fast. */
export const QUEUE_PER_PEER = 4;
/**
 * A channel binding lasts 10 minutes (RFC 8656 §12), the permission it installs 5 (§9): a
 * binding is only as good as its permission, so 5 minutes is what counts.
 */
export const PERMISSION_LIFETIME_MS = 300_000;

export type ChannelState =
  /** The first ChannelBind is in flight: no permission yet, so packets wait here. */
  | { kind: 'binding'; queue: Buffer[] }
  /** Bound at `since` (the last successful bind); `refreshing` while a re-bind is in flight. */
  | { kind: 'bound'; since: number; refreshing: boolean }
  /** The bind failed without a refusal (no answer, an odd error); retried by a timer. */
  | { kind: 'unbound' }
  /** 403: the server will not relay to this peer's IP. Final. */
  | { kind: 'refused' };

export type ChannelEvent =
  | { type: 'refreshing' }
  | { type: 'bound'; at: number }
  | { type: 'failed'; at: number }
  | { type: 'refused' }
  | { type: 'rebind' };

/** The one transition function of a channel; events that do not apply leave the state as it is. */
export function nextChannelState(s: ChannelState, e: ChannelEvent): ChannelState {
  if (s.kind === 'refused') return s;
  switch (e.type) {
    case 'refused':
      return { kind: 'refused' };
    case 'bound':
      return { kind: 'bound', since: e.at, refreshing: false };
    case 'refreshing':
      return s.kind === 'bound' ? { ...s, refreshing: true } : s;
    case 'failed':
      // A failed re-bind leaves the old binding standing until its permission runs out.
      if (s.kind === 'bound' && e.at - s.since < PERMISSION_LIFETIME_MS) return { ...s, refreshing: false };
      return { kind: 'unbound' };
    case 'rebind':
      return s.kind === 'unbound' ? { kind: 'binding', queue: [] } : s;
  }
}

export interface Channel {
  /** Frozen: handed out as the source of every packet from this peer. */
  readonly peer: Readonly<Address>;
  readonly number: number;
  state: ChannelState;
  /** The pending re-bind (refresh or retry). */
  timer: TimerHandle | undefined;
}

/** The channel table: by peer address, by channel number, and the IPs the server refused. */
export class Channels {
  private readonly byPeer = new Map<string, Channel>();
  private readonly byNumber = new Map<number, Channel>();
  private readonly refusedIps = new Set<string>();

  get size(): number {
    return this.byPeer.size;
  }

  get(peer: Address): Channel | undefined {
    return this.byPeer.get(`${peer.ip}:${peer.port}`);
  }

  byChannel(n: number): Channel | undefined {
    return this.byNumber.get(n);
  }

  /** A new channel for `peer`, or undefined when the table is full. */
  add(peer: Address): Channel | undefined {
    if (this.byPeer.size >= MAX_PEERS) return undefined;
    const ch: Channel = { peer: Object.freeze({ ip: peer.ip, port: peer.port }), number: CHANNEL_MIN + this.byPeer.size, state: { kind: 'binding', queue: [] }, timer: undefined };
    this.byPeer.set(`${peer.ip}:${peer.port}`, ch);
    this.byNumber.set(ch.number, ch);
    return ch;
  }

  all(): IterableIterator<Channel> {
    return this.byPeer.values();
  }

  refuse(ip: string): void {
    this.refusedIps.add(ip);
  }

  refused(ip: string): boolean {
    return this.refusedIps.has(ip);
  }

  /** Whether the server holds a permission for `ip`: some channel to it has been bound. */
  permitted(ip: string): boolean {
    for (const ch of this.byPeer.values()) if (ch.peer.ip === ip && ch.state.kind === 'bound') return true;
    return false;
  }

  /** Whether we asked for `ip` (so its Data indications are wanted) and were not refused. */
  wanted(ip: string): boolean {
    if (this.refusedIps.has(ip)) return false;
    for (const ch of this.byPeer.values()) if (ch.peer.ip === ip) return true;
    return false;
  }
}
