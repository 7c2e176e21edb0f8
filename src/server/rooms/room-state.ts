/**
 * The life of a room: one union of states that carry their data, one transition function (the
 * shape of ../call-state.ts). The owner is a field of every state, so a succession is a transition
 * like any other. Members are named by their session's name (unique on the server).
 */
export type Offer = Record<string, unknown>;

export type RoomState =
  | { phase: 'open'; owner: string }
  /** A round is out: `acked` holds who took it (the owner from the start), `nacked` who refused it. */
  | { phase: 'negotiating'; owner: string; round: number; offer: Offer; acked: ReadonlySet<string>; nacked: ReadonlySet<string> }
  /** Every member of the round took it; members who joined since ack it on their own. */
  | { phase: 'running'; owner: string; round: number; offer: Offer; accepted: ReadonlySet<string>; nacked: ReadonlySet<string> };

export type RoomEvent =
  /** The owner offers: a new round, whatever the phase. */
  | { kind: 'start'; by: string; round: number; offer: Offer }
  | { kind: 'ack'; by: string; round: number }
  | { kind: 'nack'; by: string; round: number }
  /** A member went; `owner` is the owner from now on. */
  | { kind: 'left'; name: string; owner: string };

/**
 * The next state, or null when the event is not allowed in this one (a start by someone else, an
 * answer to a round that is not the current one, a second answer to the same round). `members`
 * are the room's members after the event: a round completes once all of them acked.
 */
export function nextRoomState(state: RoomState, event: RoomEvent, members: ReadonlySet<string>): RoomState | null {
  switch (event.kind) {
    case 'start':
      if (event.by !== state.owner) return null;
      return settle({ phase: 'negotiating', owner: state.owner, round: event.round, offer: event.offer, acked: new Set([event.by]), nacked: new Set() }, members);
    case 'ack':
    case 'nack': {
      if (state.phase === 'open' || event.round !== state.round) return null;
      const took = state.phase === 'negotiating' ? state.acked : state.accepted;
      if (took.has(event.by) || state.nacked.has(event.by)) return null;
      if (event.kind === 'nack') return { ...state, nacked: new Set(state.nacked).add(event.by) };
      if (state.phase === 'running') return { ...state, accepted: new Set(took).add(event.by) };
      return settle({ ...state, acked: new Set(took).add(event.by) }, members);
    }
    case 'left': {
      if (state.phase === 'open') return { phase: 'open', owner: event.owner };
      const nacked = without(state.nacked, event.name);
      if (state.phase === 'running') return { ...state, owner: event.owner, accepted: without(state.accepted, event.name), nacked };
      return settle({ ...state, owner: event.owner, acked: without(state.acked, event.name), nacked }, members);
    }
  }
}

/** A round every member has acked is running. */
function settle(state: Extract<RoomState, { phase: 'negotiating' }>, members: ReadonlySet<string>): RoomState {
  for (const m of members) if (!state.acked.has(m)) return state;
  const { acked, ...rest } = state;
  return { ...rest, phase: 'running', accepted: acked };
}

function without(set: ReadonlySet<string>, name: string): ReadonlySet<string> {
  if (!set.has(name)) return set;
  const s = new Set(set);
  s.delete(name);
  return s;
}
