import type { Rate } from '../token-bucket';
import { DEFAULT_RELAY_LIMITS } from '../turn/relay-policy';

/** What the room forwarder allows each member; every field has a default (below). */
export interface ForwardLimits {
  /** Packets and bytes per second a member may send into its room (each is copied to every other member). */
  packets: Rate;
  bytes: Rate;
  /** Packets a member may send over its caps (each dropped one costs 1) before it is cut off. */
  overCapBudget: Rate;
  /** A registration not refreshed by a Binding request for this long lapses (clients refresh every ~10 s). */
  lapseMs: number;
}

/** The relay's per-allocation caps: a member sends one stream, like a party of a call. */
export const DEFAULT_FORWARD_LIMITS: ForwardLimits = {
  packets: DEFAULT_RELAY_LIMITS.packets,
  bytes: DEFAULT_RELAY_LIMITS.bytes,
  overCapBudget: DEFAULT_RELAY_LIMITS.overCapBudget,
  lapseMs: 30_000,
};

export function resolveForwardLimits(overrides: Partial<ForwardLimits> = {}): ForwardLimits {
  return { ...DEFAULT_FORWARD_LIMITS, ...overrides };
}
