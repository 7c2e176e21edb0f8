import { ROOM_ID_PATTERN } from '../../src/protocol';
import { join, memberKey, nextOf } from '../helpers/rooms';
import { useTestServer, type RawClient } from '../helpers/signaling';

const t = useTestServer({ limits: { maxRoomMembers: 3, maxRooms: 2 } });

/** `names` registered and in `room`, in that order, every member_joined consumed. */
async function roomOf(room: string, ...names: string[]): Promise<RawClient[]> {
  const cs: RawClient[] = [];
  for (const n of names) {
    const c = await t.registered(n);
    await join(c, room, n);
    for (const other of cs) expect(await other.next()).toEqual({ type: 'room.member_joined', room, name: n, key: memberKey(n) });
    cs.push(c);
  }
  return cs;
}

describe('rooms: create and join', () => {
  test('create without an id mints three readable words; the creator owns it', async () => {
    const a = await t.registered('alice');
    a.send({ type: 'room.create', key: memberKey('alice'), req: 1 });
    const r = await nextOf(a, 'room.created');
    expect(r.room).toMatch(/^[a-z]+-[a-z]+-[a-z]+$/);
    expect(r.room).toMatch(ROOM_ID_PATTERN);
    expect(r).toMatchObject({ req: 1, owner: 'alice', members: [{ name: 'alice', key: memberKey('alice') }], phase: 'open' });
    expect(r).not.toHaveProperty('round');
    expect(t.server.rooms).toMatchObject({ rooms: 1, members: 1 });
  });

  test('create with an id; the same id in another case → room_exists; a bad id → bad_room', async () => {
    const a = await t.registered('alice');
    const b = await t.registered('bob');
    a.send({ type: 'room.create', room: 'Standup', key: memberKey('alice') });
    expect(await nextOf(a, 'room.created')).toMatchObject({ room: 'Standup', owner: 'alice' });
    b.send({ type: 'room.create', room: 'standup', key: memberKey('bob'), req: 'x' });
    expect(await b.next()).toMatchObject({ type: 'error', req: 'x', code: 'room_exists' });
    b.send({ type: 'room.create', room: 'no spaces', key: memberKey('bob') });
    expect(await b.next()).toMatchObject({ type: 'error', code: 'bad_room' });
    b.send({ type: 'room.join', room: 'a/b', key: memberKey('bob') });
    expect(await b.next()).toMatchObject({ type: 'error', code: 'bad_room' });
    // Joining it under another case finds the same room.
    expect(await join(b, 'STANDUP', 'bob')).toMatchObject({ room: 'Standup', owner: 'alice', created: false });
    expect(await a.next()).toEqual({ type: 'room.member_joined', room: 'Standup', name: 'bob', key: memberKey('bob') });
  });

  test('joining an unknown room creates it; every other member hears of each joiner exactly once', async () => {
    const a = await t.registered('alice');
    expect(await join(a, 'kitchen', 'alice')).toMatchObject({ room: 'kitchen', owner: 'alice', created: true, phase: 'open', members: [{ name: 'alice' }] });
    const [b, c] = [await t.registered('bob'), await t.registered('carol')];
    expect(await join(b, 'kitchen', 'bob')).toMatchObject({ created: false, owner: 'alice', members: [{ name: 'alice' }, { name: 'bob' }] });
    expect(await join(c, 'kitchen', 'carol')).toMatchObject({ members: [{ name: 'alice' }, { name: 'bob' }, { name: 'carol' }] });
    expect(await a.next()).toMatchObject({ type: 'room.member_joined', name: 'bob' });
    expect(await a.next()).toMatchObject({ type: 'room.member_joined', name: 'carol' });
    expect(await b.next()).toMatchObject({ type: 'room.member_joined', name: 'carol' });
    for (const x of [a, b, c]) await x.quiet();
  });

  test('leave → ok, the others get member_left; the last one out closes the room', async () => {
    const [a, b] = await roomOf('den', 'alice', 'bob');
    b.send({ type: 'room.leave', room: 'den', req: 'l' });
    expect(await b.next()).toEqual({ type: 'ok', req: 'l' });
    expect(await a.next()).toEqual({ type: 'room.member_left', room: 'den', name: 'bob', owner: 'alice' });
    b.send({ type: 'room.leave', room: 'den' });
    expect(await b.next()).toMatchObject({ type: 'error', code: 'no_such_room' });
    a.send({ type: 'room.leave', room: 'den' });
    expect(await a.next()).toEqual({ type: 'ok' });
    expect(t.server.rooms).toMatchObject({ rooms: 0, members: 0 });
    // Its id is free again: joining it creates it anew.
    expect(await join(b, 'den', 'bob')).toMatchObject({ created: true, owner: 'bob' });
  });

  test('room_full at the member cap, too_many_rooms at the room cap', async () => {
    await roomOf('one', 'a1', 'a2', 'a3');
    const d = await t.registered('d');
    d.send({ type: 'room.join', room: 'one', key: memberKey('d') });
    expect(await d.next()).toMatchObject({ type: 'error', code: 'room_full' });
    await join(d, 'two', 'd');
    const e = await t.registered('e');
    e.send({ type: 'room.create', key: memberKey('e') });
    expect(await e.next()).toMatchObject({ type: 'error', code: 'too_many_rooms' });
    e.send({ type: 'room.join', room: 'three', key: memberKey('e') });
    expect(await e.next()).toMatchObject({ type: 'error', code: 'too_many_rooms' });
    // An existing room below its cap may still be joined.
    expect(await join(e, 'two', 'e')).toMatchObject({ created: false });
  });

  test('one room per session; a room member can neither call nor be called, and a caller cannot join', async () => {
    const [a] = await roomOf('lobby', 'alice');
    a.send({ type: 'room.join', room: 'other', key: memberKey('alice') });
    expect(await a.next()).toMatchObject({ type: 'error', code: 'busy' });
    a.send({ type: 'room.create', key: memberKey('alice') });
    expect(await a.next()).toMatchObject({ type: 'error', code: 'busy' });
    const b = await t.registered('bob');
    b.send({ type: 'call', to: 'alice', offer: {} });
    expect(await b.next()).toMatchObject({ type: 'error', code: 'busy', message: expect.stringMatching(/room/) });
    a.send({ type: 'call', to: 'bob', offer: {} });
    expect(await a.next()).toMatchObject({ type: 'error', code: 'busy' });
    const c = await t.registered('carol');
    b.send({ type: 'call', to: 'carol', offer: {} });
    expect(await b.next()).toMatchObject({ type: 'ringing' });
    b.send({ type: 'room.join', room: 'lobby', key: memberKey('bob') });
    expect(await b.next()).toMatchObject({ type: 'error', code: 'busy' });
    await c.next();
    c.send({ type: 'list' });
    expect(await c.next()).toMatchObject({ users: [{ name: 'alice', status: 'in-call' }, { name: 'bob', status: 'ringing' }, { name: 'carol', status: 'ringing' }] });
  });
});

describe('rooms: succession and departures', () => {
  test('the owner leaves → one member_left naming the longest-present member as owner, who can start', async () => {
    const [a, b, c] = await roomOf('hall', 'alice', 'bob', 'carol');
    a.send({ type: 'room.leave', room: 'hall' });
    expect(await a.next()).toEqual({ type: 'ok' });
    for (const x of [b, c]) {
      expect(await x.next()).toEqual({ type: 'room.member_left', room: 'hall', name: 'alice', owner: 'bob' });
      await x.quiet();
    }
    c.send({ type: 'room.start', room: 'hall', offer: { v: 1 } });
    expect(await c.next()).toMatchObject({ type: 'error', code: 'not_owner' });
    b.send({ type: 'room.start', room: 'hall', offer: { v: 1 } });
    expect(await b.next()).toEqual({ type: 'ok' });
    expect(await c.next()).toEqual({ type: 'room.offer', room: 'hall', round: 1, by: 'bob', offer: { v: 1 } });
  });

  test("a member's connection dropping → member_disconnected to the rest, with the new owner", async () => {
    const [a, b, c] = await roomOf('hall', 'alice', 'bob', 'carol');
    a.socket.destroy();
    for (const x of [b, c]) expect(await x.next()).toEqual({ type: 'room.member_disconnected', room: 'hall', name: 'alice', owner: 'bob' });
    c.socket.destroy();
    expect(await b.next()).toEqual({ type: 'room.member_disconnected', room: 'hall', name: 'carol', owner: 'bob' });
    await b.quiet();
    expect(t.server.rooms).toMatchObject({ rooms: 1, members: 1 });
  });

  test('a member whose connection dropped is out even when it resumes in its grace, and may join again', async () => {
    const [a] = await roomOf('hall', 'alice');
    const b = await t.connect();
    b.send({ type: 'hello', version: 1, name: 'bob' });
    const welcome = await nextOf(b, 'welcome');
    await join(b, 'hall', 'bob');
    await nextOf(a, 'room.member_joined');
    b.socket.destroy();
    expect(await a.next()).toEqual({ type: 'room.member_disconnected', room: 'hall', name: 'bob', owner: 'alice' });
    const back = await t.connect();
    back.send({ type: 'hello', version: 1, name: 'bob', resume: welcome.resume });
    expect(await back.next()).toMatchObject({ type: 'welcome', resumed: true });
    back.send({ type: 'room.leave', room: 'hall' });
    expect(await back.next()).toMatchObject({ type: 'error', code: 'no_such_room' });
    expect(await join(back, 'hall', 'bob')).toMatchObject({ created: false, owner: 'alice', members: [{ name: 'alice' }, { name: 'bob' }] });
    expect(await a.next()).toMatchObject({ type: 'room.member_joined', name: 'bob' });
  });

  test('bye → member_left', async () => {
    const [a, b] = await roomOf('hall', 'alice', 'bob');
    b.send({ type: 'bye' });
    expect(await a.next()).toEqual({ type: 'room.member_left', room: 'hall', name: 'bob', owner: 'alice' });
  });
});

describe('rooms: sealed sender keys', () => {
  test('room.key reaches the named member only, stamped with the sender; a non-member → not_found', async () => {
    const [a, b, c] = await roomOf('vault', 'alice', 'bob', 'carol');
    const outsider = await t.registered('dave');
    a.send({ type: 'room.key', room: 'vault', to: 'bob', epoch: 3, sealed: 'c2VhbGVk', req: 'k' });
    expect(await a.next()).toEqual({ type: 'ok', req: 'k' });
    expect(await b.next()).toEqual({ type: 'room.key', room: 'vault', from: 'alice', epoch: 3, sealed: 'c2VhbGVk' });
    await c.quiet();
    a.send({ type: 'room.key', room: 'vault', to: 'dave', epoch: 3, sealed: 'eA' });
    expect(await a.next()).toMatchObject({ type: 'error', code: 'not_found' });
    await outsider.quiet();
    outsider.send({ type: 'room.key', room: 'vault', to: 'bob', epoch: 1, sealed: 'eA' });
    expect(await outsider.next()).toMatchObject({ type: 'error', code: 'no_such_room' });
    await b.quiet();
  });
});
