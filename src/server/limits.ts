import { MAX_LIST_PAGE } from '../protocol';
import type { Rate } from './token-bucket';

/**
 * What one client may cost the server, and how many may connect. Every field has a default
 * (below); `ServerOptions.limits` overrides any of them. docs/protocol.md lists them for clients.
 */
export interface ServerLimits {
  /**
   * Each connection's request budget, in cost units: a request costs 1 plus 1 per KiB of its line
   * (a read that finishes no line costs 1),
   * and a `users` page 1 more per 16 users in it. A connection over budget is not read until the
   * budget has refilled.
   */
  requests: Rate;
  /** Calls a session may place (calls that would ring: refusals such as busy are free). */
  callsPlaced: Rate;
  /** Calls a session may receive, from everyone together. */
  callsReceived: Rate;
  /** A caller declined this many times in a row by the same callee within `declinedWindowMs` ... */
  declinedCalls: number;
  declinedWindowMs: number;
  /** ... may not call that callee again for this long. */
  declinedBlockMs: number;
  /** Candidates one side may send in one call. */
  candidatesPerCall: number;
  /**
   * A relayed message (offer, answer, candidate) is refused with `rate_limited` while its receiver
   * has more than this many bytes of output waiting: the sender is slowed, never the receiver cut off.
   */
  relayBacklogBytes: number;
  /** The most users one `users` page holds. */
  listPageSize: number;
  /** Open connections in total; also kept below the process's open-file limit. */
  maxConnections: number;
  /** Open connections from one IP address. */
  maxConnectionsPerAddress: number;
  /** A connection that has not registered (a successful hello) within this long is closed. */
  registrationTimeoutMs: number;
  /** Members one room may hold. */
  maxRoomMembers: number;
  /** Rooms the server holds at once. */
  maxRooms: number;
  /** Rounds a session may start (room.start), refused ones included. */
  roomStarts: Rate;
  /** Sealed sender keys a session may send (room.key). */
  roomKeys: Rate;
  /** Rooms a session may create or join, refused attempts included. */
  roomJoins: Rate;
}

export const DEFAULT_LIMITS: ServerLimits = {
  requests: { perSecond: 100, burst: 400 },
  callsPlaced: { perSecond: 1, burst: 10 },
  callsReceived: { perSecond: 2, burst: 20 },
  declinedCalls: 3,
  declinedWindowMs: 60_000,
  declinedBlockMs: 60_000,
  candidatesPerCall: 32,
  relayBacklogBytes: 256 * 1024,
  listPageSize: MAX_LIST_PAGE,
  maxConnections: 20_000,
  maxConnectionsPerAddress: 100,
  registrationTimeoutMs: 10_000,
  maxRoomMembers: 16,
  maxRooms: 1000,
  roomStarts: { perSecond: 0.5, burst: 5 },
  // A key to each other member when someone joins or leaves: a full room's worth, twice, at once.
  roomKeys: { perSecond: 32, burst: 64 },
  roomJoins: { perSecond: 1, burst: 10 },
};

/**
 * The defaults with `overrides` on top. A `users` page never exceeds the protocol's MAX_LIST_PAGE,
 * and the relay threshold stays at most a quarter of the slow-consumer cap.
 */
export function resolveLimits(overrides: Partial<ServerLimits> = {}, maxPendingOutput = Infinity): ServerLimits {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  limits.listPageSize = Math.max(1, Math.min(MAX_LIST_PAGE, limits.listPageSize));
  limits.relayBacklogBytes = Math.min(limits.relayBacklogBytes, Math.floor(maxPendingOutput / 4));
  return limits;
}

/** Cost units of one request line of `chars` characters. */
export function lineCost(chars: number): number {
  return 1 + (chars >>> 10);
}

/** Extra cost units of a `users` page listing `users` users. */
export function pageCost(users: number): number {
  return users >>> 4;
}
