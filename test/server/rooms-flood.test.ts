import { MAX_BAD_LINES } from '../../src/protocol';
import { nextOf, roomOf } from '../helpers/rooms';
import { useTestServer, type RawClient } from '../helpers/signaling';

const t = useTestServer();
const offer = { codec: 'opus' };


/** Reads `c`'s messages until it is closed; returns the error codes it was sent. */
async function codesUntilClosed(c: RawClient): Promise<string[]> {
  const codes: string[] = [];
  for (;;) {
    try {
      const m = await c.next(10_000);
      if (m.type === 'error') codes.push(String(m.code));
    } catch {
      if (c.closed) return codes;
      throw new Error('the flooder was not disconnected');
    }
  }
}

test('an owner spamming room.start is rate limited, then disconnected; the others carry on', async () => {
  const [a, b, c] = await roomOf(t, 'r', 'alice', 'bob', 'carol');
  for (let i = 0; i < 200; i++) a.send({ type: 'room.start', room: 'r', offer: { ...offer, i } });
  const codes = await codesUntilClosed(a);
  expect(codes.filter((x) => x === 'rate_limited').length).toBeGreaterThanOrEqual(MAX_BAD_LINES - 1);
  expect(codes[codes.length - 1]).toBe('too_many_errors');
  // Bob and Carol saw the rounds that went out, then alice leave; bob owns the room now.
  const seen = async (x: RawClient) => {
    const types: string[] = [];
    for (;;) {
      const m = await x.next();
      types.push(m.type);
      if (m.type === 'room.member_disconnected') {
        expect(m).toMatchObject({ name: 'alice', owner: 'bob' });
        return types;
      }
    }
  };
  for (const x of [b, c]) {
    const types = await seen(x);
    expect(types.filter((ty) => ty === 'room.offer').length).toBeLessThanOrEqual(5);
  }
  expect(b.closed || c.closed).toBe(false);
  b.send({ type: 'room.start', room: 'r', offer });
  const next = await c.next();
  expect(next).toMatchObject({ type: 'room.offer', by: 'bob' });
  expect(await b.next()).toEqual({ type: 'ok' });
  c.send({ type: 'room.ack', room: 'r', round: next.round });
  expect(await c.next()).toMatchObject({ type: 'room.acked', by: 'carol' });
  expect(await c.next()).toMatchObject({ type: 'room.all_accepted' });
});

test('a member spamming room.nack draws wrong_state strikes and is disconnected; the others can still ack', async () => {
  const [a, b, c] = await roomOf(t, 'r', 'alice', 'bob', 'carol');
  a.send({ type: 'room.start', room: 'r', offer });
  await nextOf(a, 'ok');
  const round = (await nextOf(b, 'room.offer')).round as number;
  await nextOf(c, 'room.offer');
  for (let i = 0; i < 100; i++) c.send({ type: 'room.nack', room: 'r', round, counter: { i } });
  const codes = await codesUntilClosed(c);
  expect(codes.filter((x) => x === 'wrong_state').length).toBeGreaterThanOrEqual(MAX_BAD_LINES - 1);
  for (const x of [a, b]) {
    expect(await x.next()).toMatchObject({ type: 'room.nacked', by: 'carol' });
    expect(await x.next()).toMatchObject({ type: 'room.member_disconnected', name: 'carol', owner: 'alice' });
  }
  // With carol gone, bob's ack completes the round.
  b.send({ type: 'room.ack', room: 'r', round });
  for (const x of [a, b]) {
    expect(await x.next()).toEqual({ type: 'room.acked', room: 'r', round, by: 'bob' });
    expect(await x.next()).toEqual({ type: 'room.all_accepted', room: 'r', round, offer });
  }
  expect(a.closed || b.closed).toBe(false);
});

test('room.key floods and join floods are rate_limited with a retry time', async () => {
  const [a] = await roomOf(t, 'r', 'alice', 'bob');
  const replies: Record<string, unknown>[] = [];
  for (let i = 0; i < 80; i++) a.send({ type: 'room.key', room: 'r', to: 'bob', epoch: i, sealed: 'eA' });
  for (let i = 0; i < 80; i++) replies.push(await a.next());
  // Strikes are counted in a row; the successes in between are not bad lines.
  expect(replies.filter((m) => m.type === 'ok').length).toBeGreaterThanOrEqual(64);
  const limited = replies.find((m) => m.code === 'rate_limited');
  expect(limited).toMatchObject({ retryAfterMs: expect.any(Number), message: expect.stringMatching(/try again in/) });
  const d = await t.registered('dave');
  const codes: string[] = [];
  for (let i = 0; i < 12; i++) {
    d.send({ type: 'room.join', room: 'r', key: { key: 'a', identity: 'b', sig: 'c' } });
    const m = await d.next();
    codes.push(m.type === 'error' ? String(m.code) : m.type);
    if (m.type === 'room.joined') {
      d.send({ type: 'room.leave', room: 'r' });
      await nextOf(d, 'ok');
    }
  }
  expect(codes).toContain('rate_limited');
});
