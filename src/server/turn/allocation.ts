import type dgram from 'node:dgram';
import type { ClockTimer } from '../clock';
import { TokenBucket } from '../token-bucket';
import type { ParsedTurnUser } from './credentials';
import type { RelayLimits } from './relay-policy';

export interface Endpoint {
  ip: string;
  port: number;
}

/** Binding its socket, relaying, or gone (its socket closed, its maps dropped). */
export type AllocationState = 'binding' | 'open' | 'closed';

interface Channel {
  peer: Endpoint;
  expiresAt: number;
}

/** One direction's caps: packets and bytes per second (the room forwarder's members have them too). */
export class Caps {
  private readonly packets: TokenBucket;
  private readonly bytes: TokenBucket;

  constructor(limits: Pick<RelayLimits, 'packets' | 'bytes'>, now: number) {
    this.packets = new TokenBucket(limits.packets, now);
    this.bytes = new TokenBucket(limits.bytes, now);
  }

  /** Takes one packet of `size` bytes if both buckets have it; nothing is taken otherwise. */
  admit(size: number, now: number): boolean {
    if (this.packets.msUntil(1, now) > 0 || this.bytes.msUntil(size, now) > 0) return false;
    this.packets.take(1, now);
    this.bytes.take(size, now);
    return true;
  }
}

/**
 * One TURN allocation (RFC 8656 §2.2): the client's 5-tuple, the credentials it was made with,
 * its own relay socket, and its permissions and channels, each bounded in number and expiring
 * (checked when used: there are at most a few dozen, no timer each).
 */
export class Allocation {
  state: AllocationState = 'binding';
  socket: dgram.Socket | null = null;
  relayed: Endpoint | null = null;
  expiresAt = 0;
  timer: ClockTimer | null = null;
  /** The Allocate that made it and the success sent, for a retransmission to get the same. */
  allocateReply: Buffer | null = null;
  readonly out: Caps;
  readonly in: Caps;
  /** What the client has sent over its caps (see RelayLimits.overCapBudget). */
  private readonly overCap: TokenBucket;
  private readonly permissions = new Map<string, number>();
  private readonly channels = new Map<number, Channel>();
  private readonly channelByPeer = new Map<string, number>();

  constructor(
    readonly client: Endpoint,
    /** The client's address as the UDP socket reports it (possibly IPv4-mapped), to answer it. */
    readonly clientAddress: string,
    readonly username: string,
    readonly user: ParsedTurnUser,
    readonly key: Buffer,
    readonly allocateTxn: string,
    private readonly limits: RelayLimits,
    now: number,
  ) {
    this.out = new Caps(limits, now);
    this.in = new Caps(limits, now);
    this.overCap = new TokenBucket(limits.overCapBudget, now);
  }

  /** Counts one packet the client sent over its caps; true once that amounts to a sustained flood. */
  flooding(now: number): boolean {
    return this.overCap.charge(1, now) < 0;
  }

  /** Installs or refreshes permissions for `ips`, all or none: false when they would not fit. */
  permit(ips: string[], now: number): boolean {
    this.prune(now);
    const added = new Set(ips.filter((ip) => !this.permissions.has(ip))).size;
    if (this.permissions.size + added > this.limits.permissions) return false;
    const until = now + this.limits.permissionLifetimeS * 1000;
    for (const ip of ips) this.permissions.set(ip, until);
    return true;
  }

  permitted(ip: string, now: number): boolean {
    const until = this.permissions.get(ip);
    return until !== undefined && until > now;
  }

  /**
   * Binds (or refreshes) `channel` to `peer` (RFC 8656 §12.2): a channel bound to one peer, or a
   * peer bound to another channel, cannot be rebound ('conflict'); 'full' past the cap.
   */
  bind(channel: number, peer: Endpoint, now: number): 'ok' | 'conflict' | 'full' {
    this.prune(now);
    const key = `${peer.ip}:${peer.port}`;
    const existing = this.channels.get(channel);
    const byPeer = this.channelByPeer.get(key);
    if (existing && (existing.peer.ip !== peer.ip || existing.peer.port !== peer.port)) return 'conflict';
    if (byPeer !== undefined && byPeer !== channel) return 'conflict';
    if (!existing && !this.permissions.has(peer.ip) && this.permissions.size >= this.limits.permissions) return 'full';
    if (!existing && this.channels.size >= this.limits.channels) return 'full';
    this.channels.set(channel, { peer, expiresAt: now + this.limits.channelLifetimeS * 1000 });
    this.channelByPeer.set(key, channel);
    // A channel binding installs or refreshes the permission for its peer's IP (§12.2).
    this.permissions.set(peer.ip, Math.max(this.permissions.get(peer.ip) ?? 0, now + this.limits.permissionLifetimeS * 1000));
    return 'ok';
  }

  peerOf(channel: number, now: number): Endpoint | null {
    const c = this.channels.get(channel);
    return c && c.expiresAt > now ? c.peer : null;
  }

  channelOf(peer: Endpoint, now: number): number | null {
    const ch = this.channelByPeer.get(`${peer.ip}:${peer.port}`);
    if (ch === undefined) return null;
    return this.peerOf(ch, now) ? ch : null;
  }

  /** Drops expired permissions and channels. */
  private prune(now: number): void {
    for (const [ip, until] of this.permissions) if (until <= now) this.permissions.delete(ip);
    for (const [ch, c] of this.channels) {
      // An expired channel stays unusable for another 5 minutes before it may be rebound (§12).
      if (c.expiresAt + 300_000 <= now) {
        this.channels.delete(ch);
        this.channelByPeer.delete(`${c.peer.ip}:${c.peer.port}`);
      }
    }
  }
}
