import type { CallRecord } from '../call-broker';
import type { Rate } from '../token-bucket';
import type { Allocation, Endpoint } from './allocation';
import type { AllocationTable } from './allocation-table';
import { isForbiddenPeer } from './ip';

/** What the embedded relay allows; every field has a default (below). */
export interface RelayLimits {
  /** Allocations on the whole server; past it, Allocate is answered 486. */
  maxAllocations: number;
  /** Allocations one party may hold in one call (one per candidate socket it gathers on). */
  allocationsPerParty: number;
  /** Packets per second each allocation relays in each direction (client → peers, peers → client). */
  packets: Rate;
  /** Bytes per second likewise: 256 KiB/s is 20 ms L16 frames with a redundant copy, with room. */
  bytes: Rate;
  /** Permissions (peer IPs) and channels one allocation may hold. */
  permissions: number;
  channels: number;
  /** Allocation lifetime when the client asks none, and the most it may ask (seconds). */
  defaultLifetimeS: number;
  maxLifetimeS: number;
  /** RFC 8656 §9 and §12: permissions last 5 minutes, channel bindings 10. */
  permissionLifetimeS: number;
  channelLifetimeS: number;
  /** Requests (not media) one source IP may send to the relay: what a flood of Allocates costs. */
  requestsPerAddress: Rate;
  /**
   * Packets a client may send over its caps (each dropped one costs 1): past this budget it is
   * flooding, not bursting, and its allocation is ended. 50/s refill: a client a little over its
   * cap is only clipped; one sending twice its cap loses the allocation within seconds.
   */
  overCapBudget: Rate;
}

export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  maxAllocations: 1000,
  allocationsPerParty: 2,
  packets: { perSecond: 250, burst: 50 },
  bytes: { perSecond: 256 * 1024, burst: 64 * 1024 },
  permissions: 16,
  channels: 16,
  defaultLifetimeS: 600,
  maxLifetimeS: 3600,
  permissionLifetimeS: 300,
  channelLifetimeS: 600,
  requestsPerAddress: { perSecond: 50, burst: 200 },
  overCapBudget: { perSecond: 50, burst: 1250 },
};

export function resolveRelayLimits(overrides: Partial<RelayLimits> = {}): RelayLimits {
  return { ...DEFAULT_RELAY_LIMITS, ...overrides };
}

/** Where the other party of a call may be reached: the only peers an allocation may open to. */
export interface OtherParty {
  /** The IP its signaling connection comes from. */
  signalingIp?: string;
  /** The source IPs of its own allocations, and their relayed IPs (relay to relay). */
  clientIps: Iterable<string>;
  relayIps: Iterable<string>;
}

/**
 * Whether an allocation may open a permission to `ip`: only toward the other party of its call,
 * never to an address no relay should send to (loopback only when the server is on loopback).
 */
export function peerAllowed(ip: string, other: OtherParty, allowLoopback: boolean): boolean {
  if (isForbiddenPeer(ip, allowLoopback)) return false;
  if (ip === other.signalingIp) return true;
  for (const c of other.clientIps) if (c === ip) return true;
  for (const r of other.relayIps) if (r === ip) return true;
  return false;
}

/** The party of `call` other than `name`, and where it may be reached. */
export function otherParty(call: CallRecord, name: string, table: AllocationTable): OtherParty {
  const other = call.caller.name === name ? call.callee : call.caller;
  const theirs = table.ofCall(call.id).filter((x) => x.user.name === other.name && x.relayed !== null && x.state === 'open');
  return { signalingIp: other.address, clientIps: theirs.map((x) => x.client.ip), relayIps: theirs.map((x) => x.relayed!.ip) };
}

/**
 * Checked on every packet, out and in: on this server's own addresses, only the other party's
 * relay sockets may be peers, never the server's UDP port or another call's relay socket (no
 * loops, no way into someone else's call).
 */
export function portAllowed(a: Allocation, peer: Endpoint, table: AllocationTable, udpPort: number): boolean {
  if (!table.isOwnIp(peer.ip)) return true;
  if (peer.port === udpPort) return false;
  const target = table.atRelayPort(peer.port);
  return !target || (target.user.callId === a.user.callId && target.user.name !== a.user.name);
}
