import { nextRoomState, type RoomState } from '../../src/server/rooms/room-state';

const members = (...names: string[]) => new Set(names);
const offer = { codec: 'opus' };

test('start opens a round with the owner as its first ack; only the owner may start', () => {
  const open: RoomState = { phase: 'open', owner: 'a' };
  expect(nextRoomState(open, { kind: 'start', by: 'b', round: 1, offer }, members('a', 'b'))).toBeNull();
  const s = nextRoomState(open, { kind: 'start', by: 'a', round: 1, offer }, members('a', 'b'));
  expect(s).toEqual({ phase: 'negotiating', owner: 'a', round: 1, offer, acked: new Set(['a']), nacked: new Set() });
});

test('acks complete a round; a second answer, a stale round, and answers in open are refused', () => {
  const m = members('a', 'b', 'c');
  let s = nextRoomState({ phase: 'open', owner: 'a' }, { kind: 'start', by: 'a', round: 4, offer }, m)!;
  expect(nextRoomState({ phase: 'open', owner: 'a' }, { kind: 'ack', by: 'b', round: 4 }, m)).toBeNull();
  expect(nextRoomState(s, { kind: 'ack', by: 'b', round: 3 }, m)).toBeNull();
  expect(nextRoomState(s, { kind: 'ack', by: 'a', round: 4 }, m)).toBeNull();
  s = nextRoomState(s, { kind: 'ack', by: 'b', round: 4 }, m)!;
  expect(s.phase).toBe('negotiating');
  expect(nextRoomState(s, { kind: 'nack', by: 'b', round: 4 }, m)).toBeNull();
  s = nextRoomState(s, { kind: 'ack', by: 'c', round: 4 }, m)!;
  expect(s).toEqual({ phase: 'running', owner: 'a', round: 4, offer, accepted: new Set(['a', 'b', 'c']), nacked: new Set() });
  // A re-offer from running: a new round.
  expect(nextRoomState(s, { kind: 'start', by: 'a', round: 5, offer }, m)).toMatchObject({ phase: 'negotiating', round: 5, acked: new Set(['a']) });
});

test('a member leaving mid-round completes it when the rest acked; the owner passes on', () => {
  let s = nextRoomState({ phase: 'open', owner: 'a' }, { kind: 'start', by: 'a', round: 1, offer }, members('a', 'b', 'c'))!;
  s = nextRoomState(s, { kind: 'ack', by: 'c', round: 1 }, members('a', 'b', 'c'))!;
  s = nextRoomState(s, { kind: 'left', name: 'a', owner: 'b' }, members('b', 'c'))!;
  expect(s).toMatchObject({ phase: 'negotiating', owner: 'b', acked: new Set(['c']) });
  s = nextRoomState(s, { kind: 'left', name: 'b', owner: 'c' }, members('c'))!;
  expect(s).toMatchObject({ phase: 'running', owner: 'c', accepted: new Set(['c']) });
  // A joiner while running acks on its own; the phase stays.
  s = nextRoomState(s, { kind: 'ack', by: 'd', round: 1 }, members('c', 'd'))!;
  expect(s).toMatchObject({ phase: 'running', accepted: new Set(['c', 'd']) });
});
