import { MAX_BAD_LINES, MAX_BODY_BYTES } from '../../src/protocol';
import { roomOf } from '../helpers/rooms';
import { useTestServer } from '../helpers/signaling';

const t = useTestServer();


const body = { ice: { ufrag: 'abcd', pwd: 'p'.repeat(22) }, candidates: [{ ip: '192.0.2.7', port: 4000, type: 'host' }] };

test('room.signal reaches the named member only, stamped with the sender, body unread; a non-member → not_found, an outsider → no_such_room', async () => {
  const [a, b, c] = await roomOf(t, 'mesh', 'alice', 'bob', 'carol');
  const outsider = await t.registered('dave');
  a.send({ type: 'room.signal', room: 'mesh', to: 'BOB', body, req: 's' });
  expect(await a.next()).toEqual({ type: 'ok', req: 's' });
  expect(await b.next()).toEqual({ type: 'room.signal', room: 'mesh', from: 'alice', body });
  await c.quiet();
  a.send({ type: 'room.signal', room: 'mesh', to: 'dave', body });
  expect(await a.next()).toMatchObject({ type: 'error', code: 'not_found' });
  a.send({ type: 'room.signal', room: 'mesh', to: 'alice', body });
  expect(await a.next()).toMatchObject({ type: 'error', code: 'not_found' });
  outsider.send({ type: 'room.signal', room: 'mesh', to: 'bob', body });
  expect(await outsider.next()).toMatchObject({ type: 'error', code: 'no_such_room' });
  // A body larger than an offer may be is refused unread.
  a.send({ type: 'room.signal', room: 'mesh', to: 'bob', body: { pad: 'x'.repeat(MAX_BODY_BYTES) } });
  expect(await a.next()).toMatchObject({ type: 'error', code: 'too_large' });
  await b.quiet();
});

test('a member flooding room.signal is rate limited, then disconnected; the one it flooded hears a bounded number', async () => {
  const [a, b] = await roomOf(t, 'flood', 'alice', 'bob');
  for (let i = 0; i < 300; i++) a.send({ type: 'room.signal', room: 'flood', to: 'bob', body: { i } });
  const codes: string[] = [];
  for (;;) {
    try {
      const m = await a.next(10_000);
      if (m.type === 'error') codes.push(String(m.code));
    } catch {
      if (a.closed) break;
      throw new Error('the flooder was not disconnected');
    }
  }
  expect(codes.filter((x) => x === 'rate_limited').length).toBeGreaterThanOrEqual(MAX_BAD_LINES - 1);
  expect(codes[codes.length - 1]).toBe('too_many_errors');
  let signals = 0;
  for (;;) {
    const m = await b.next();
    if (m.type === 'room.signal') signals++;
    if (m.type === 'room.member_disconnected') break;
  }
  expect(signals).toBeGreaterThan(0);
  expect(signals).toBeLessThan(100);
  expect(b.closed).toBe(false);
});
