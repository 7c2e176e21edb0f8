import { join, nextOf, roomOf } from '../helpers/rooms';
import { useTestServer, type RawClient } from '../helpers/signaling';

const t = useTestServer();
const offer = { codec: 'opus', frameMs: 20 };

/** `names` registered and in `room`, in that order, every member_joined consumed. */

/** The owner starts a round; every other member gets its offer. Returns the round. */
async function start(owner: RawClient, others: RawClient[], room: string, o: Record<string, unknown> = offer): Promise<number> {
  owner.send({ type: 'room.start', room, offer: o, req: 's' });
  expect(await owner.next()).toEqual({ type: 'ok', req: 's' });
  let round = -1;
  for (const x of others) {
    const m = await nextOf(x, 'room.offer');
    expect(m).toMatchObject({ room, by: 'alice', offer: o });
    round = m.round as number;
  }
  await owner.quiet();
  return round;
}

test('a non-owner cannot start; the owner alone cannot start (wrong_state)', async () => {
  const [a] = await roomOf(t, 'r', 'alice');
  a.send({ type: 'room.start', room: 'r', offer });
  expect(await a.next()).toMatchObject({ type: 'error', code: 'wrong_state', message: expect.stringMatching(/alone/) });
  const b = await t.registered('bob');
  await join(b, 'r', 'bob');
  b.send({ type: 'room.start', room: 'r', offer });
  expect(await b.next()).toMatchObject({ type: 'error', code: 'not_owner' });
  b.send({ type: 'room.start', room: 'elsewhere', offer });
  expect(await b.next()).toMatchObject({ type: 'error', code: 'no_such_room' });
});

test('start → offer to the others; every ack broadcast; all acked → all_accepted to all', async () => {
  const [a, b, c] = await roomOf(t, 'r', 'alice', 'bob', 'carol');
  const round = await start(a, [b, c], 'r');
  expect(round).toBe(1);
  b.send({ type: 'room.ack', room: 'r', round, req: 'b' });
  // The sender's own copy of a broadcast comes before its reply.
  for (const x of [a, b, c]) expect(await x.next()).toEqual({ type: 'room.acked', room: 'r', round, by: 'bob' });
  expect(await b.next()).toEqual({ type: 'ok', req: 'b' });
  for (const x of [a, b, c]) await x.quiet();
  c.send({ type: 'room.ack', room: 'r', round });
  for (const x of [a, b, c]) {
    expect(await x.next()).toEqual({ type: 'room.acked', room: 'r', round, by: 'carol' });
    expect(await x.next()).toEqual({ type: 'room.all_accepted', room: 'r', round, offer });
  }
  expect(await c.next()).toEqual({ type: 'ok' });
  // A second answer to the same round is refused.
  c.send({ type: 'room.ack', room: 'r', round });
  expect(await c.next()).toMatchObject({ type: 'error', code: 'wrong_state' });
  c.send({ type: 'room.nack', room: 'r', round, counter: { codec: 'pcm' } });
  expect(await c.next()).toMatchObject({ type: 'error', code: 'wrong_state' });
});

test('a nack with a counter-proposal goes to all; one without → bad_request; a second nack → wrong_state', async () => {
  const [a, b, c] = await roomOf(t, 'r', 'alice', 'bob', 'carol');
  const round = await start(a, [b, c], 'r');
  b.send({ type: 'room.nack', room: 'r', round });
  expect(await b.next()).toMatchObject({ type: 'error', code: 'bad_request', message: expect.stringMatching(/counter/) });
  b.send({ type: 'room.nack', room: 'r', round, counter: { codec: 'pcm' } });
  for (const x of [a, b, c]) expect(await x.next()).toEqual({ type: 'room.nacked', room: 'r', round, by: 'bob', counter: { codec: 'pcm' } });
  expect(await b.next()).toEqual({ type: 'ok' });
  b.send({ type: 'room.nack', room: 'r', round, counter: { codec: 'pcm' } });
  expect(await b.next()).toMatchObject({ type: 'error', code: 'wrong_state' });
  b.send({ type: 'room.ack', room: 'r', round });
  expect(await b.next()).toMatchObject({ type: 'error', code: 'wrong_state' });
});

test('a re-offer opens a new round; an ack of the old round is stale (wrong_state) and completes nothing', async () => {
  const [a, b] = await roomOf(t, 'r', 'alice', 'bob');
  const first = await start(a, [b], 'r');
  const counter = { codec: 'pcm' };
  b.send({ type: 'room.nack', room: 'r', round: first, counter });
  expect(await a.next()).toMatchObject({ type: 'room.nacked', round: first, counter });
  await nextOf(b, 'room.nacked');
  expect(await b.next()).toEqual({ type: 'ok' });
  const second = await start(a, [b], 'r', counter);
  expect(second).toBe(first + 1);
  b.send({ type: 'room.ack', room: 'r', round: first });
  expect(await b.next()).toMatchObject({ type: 'error', code: 'wrong_state', message: expect.stringMatching(/not the current/) });
  await a.quiet();
  b.send({ type: 'room.ack', room: 'r', round: second });
  expect(await a.next()).toEqual({ type: 'room.acked', room: 'r', round: second, by: 'bob' });
  expect(await a.next()).toEqual({ type: 'room.all_accepted', room: 'r', round: second, offer: counter });
});

test('a member joining while running gets the round and offer, and its ack is broadcast without a second all_accepted', async () => {
  const [a, b] = await roomOf(t, 'r', 'alice', 'bob');
  const round = await start(a, [b], 'r');
  b.send({ type: 'room.ack', room: 'r', round });
  for (const x of [a, b]) {
    await nextOf(x, 'room.acked');
    await nextOf(x, 'room.all_accepted');
  }
  await nextOf(b, 'ok');
  const c = await t.registered('carol');
  expect(await join(c, 'r', 'carol')).toMatchObject({ phase: 'running', round, offer, owner: 'alice' });
  for (const x of [a, b]) await nextOf(x, 'room.member_joined');
  c.send({ type: 'room.ack', room: 'r', round });
  for (const x of [a, b, c]) expect(await x.next()).toEqual({ type: 'room.acked', room: 'r', round, by: 'carol' });
  expect(await c.next()).toEqual({ type: 'ok' });
  for (const x of [a, b, c]) await x.quiet();
});

test('a joiner while negotiating must ack too; a member leaving mid-round lets the rest complete it', async () => {
  const [a, b] = await roomOf(t, 'r', 'alice', 'bob');
  const round = await start(a, [b], 'r');
  const c = await t.registered('carol');
  expect(await join(c, 'r', 'carol')).toMatchObject({ phase: 'negotiating', round, offer });
  for (const x of [a, b]) await nextOf(x, 'room.member_joined');
  b.send({ type: 'room.ack', room: 'r', round });
  for (const x of [a, b, c]) await nextOf(x, 'room.acked');
  await nextOf(b, 'ok');
  // Carol has not acked: the round is still out.
  await a.quiet();
  c.send({ type: 'room.leave', room: 'r' });
  await nextOf(c, 'ok');
  for (const x of [a, b]) {
    expect(await x.next()).toEqual({ type: 'room.member_left', room: 'r', name: 'carol', owner: 'alice' });
    expect(await x.next()).toEqual({ type: 'room.all_accepted', room: 'r', round, offer });
  }
});

test('a stale or unknown round, and answers in an open room, are wrong_state', async () => {
  const [a, b] = await roomOf(t, 'r', 'alice', 'bob');
  b.send({ type: 'room.ack', room: 'r', round: 1 });
  expect(await b.next()).toMatchObject({ type: 'error', code: 'wrong_state' });
  const round = await start(a, [b], 'r');
  b.send({ type: 'room.ack', room: 'r', round: round + 7 });
  expect(await b.next()).toMatchObject({ type: 'error', code: 'wrong_state' });
  a.send({ type: 'room.ack', room: 'r', round });
  expect(await a.next()).toMatchObject({ type: 'error', code: 'wrong_state', message: expect.stringMatching(/already answered/) });
});

test('the server stamps by: a forged by in a client message is ignored', async () => {
  const [a, b] = await roomOf(t, 'r', 'alice', 'bob');
  const round = await start(a, [b], 'r');
  b.send({ type: 'room.ack', room: 'r', round, by: 'alice' });
  expect(await a.next()).toMatchObject({ type: 'room.acked', by: 'bob' });
  expect(await b.next()).toMatchObject({ type: 'room.acked', by: 'bob' });
});
