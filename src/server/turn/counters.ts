/** What the relay has done, for tests, benchmarks and logs; counts only grow, except `allocations`. */
export interface RelayCounters {
  /** Allocations open (or binding) now. */
  allocations: number;
  /** Allocations made since start. */
  allocationsMade: number;
  /** From clients out of their allocations to peers (Send, ChannelData). */
  toPeers: { packets: number; bytes: number };
  /** From peers to clients (Data indications, ChannelData). */
  toClients: { packets: number; bytes: number };
  dropped: {
    /** Over an allocation's packet or byte rate, or a source's request rate. */
    rate: number;
    /** No permission, channel or allocation for it, or a peer that is not the other party. */
    permission: number;
    /** Not STUN or ChannelData we can read, or too large. */
    malformed: number;
  };
}

export function newCounters(): RelayCounters {
  return {
    allocations: 0,
    allocationsMade: 0,
    toPeers: { packets: 0, bytes: 0 },
    toClients: { packets: 0, bytes: 0 },
    dropped: { rate: 0, permission: 0, malformed: 0 },
  };
}
