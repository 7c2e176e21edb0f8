import type { ForwardOffer } from '../../src/protocol';
import { ForwardSocket, rtp } from '../helpers/forward-raw';
import { join, nextOf } from '../helpers/rooms';
import { useTestServer, type RawClient } from '../helpers/signaling';
import { waitUntil } from '../helpers/wait';
import { ManualClock } from './manual-clock';

const clock = new ManualClock();
// Small caps so a flood is told in a few hundred packets.
const t = useTestServer({ clock, forwardLimits: { packets: { perSecond: 50, burst: 40 }, bytes: { perSecond: 64 * 1024, burst: 64 * 1024 }, overCapBudget: { perSecond: 1, burst: 20 } } });
const sockets: ForwardSocket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

interface Member {
  c: RawClient;
  offer: ForwardOffer;
  udp: ForwardSocket;
}

/** `names` in `room`, each with its forwarder credentials and a UDP socket registered with them. */
async function members(room: string, ...names: string[]): Promise<Member[]> {
  const out: Member[] = [];
  for (const n of names) {
    const c = await t.registered(n);
    const joined = await join(c, room, n);
    for (const o of out) await nextOf(o.c, 'room.member_joined');
    const offer = joined.forward as ForwardOffer;
    expect(offer).toEqual({ port: t.server.udpPort, username: expect.any(String), password: expect.stringMatching(/^[A-Za-z0-9_-]+$/) });
    const udp = await ForwardSocket.open();
    sockets.push(udp);
    expect(await udp.register(offer)).toEqual({ ip: '127.0.0.1', port: udp.port });
    out.push({ c, offer, udp });
  }
  return out;
}

/** Sends from `from` until every one of `to` has had `packet` (UDP on loopback rarely drops; a resend is harmless). */
async function deliver(from: ForwardSocket, packet: Buffer, to: ForwardSocket[]): Promise<void> {
  await waitUntil(
    () => {
      if (to.every((s) => s.media.some((p) => p.equals(packet)))) return true;
      from.send(packet, t.server.udpPort);
      return false;
    },
    'the packet reached every member',
    5000,
    50,
  );
}

test('media from a registered member reaches the other registered members byte for byte, never the sender', async () => {
  const [a, b, c] = await members('band', 'alice', 'bob', 'carol');
  const p = rtp(1, 1);
  await deliver(a.udp, p, [b.udp, c.udp]);
  expect(b.udp.media.every((x) => x.equals(p))).toBe(true);
  // A marker from bob reaching alice shows alice had all there was for her: none of her own.
  const mark = rtp(2, 1);
  await deliver(b.udp, mark, [a.udp]);
  expect(a.udp.media.every((x) => x.equals(mark))).toBe(true);
  expect(t.server.rooms).toMatchObject({ rooms: 1, members: 3, registered: 3 });
  expect(t.server.rooms.forwarder!.forwarded.packets).toBeGreaterThanOrEqual(3);
});

test('an unregistered socket, a wrong password, and non-RTP reach nobody', async () => {
  const [a, b] = await members('band', 'alice', 'bob');
  const stranger = await ForwardSocket.open();
  sockets.push(stranger);
  for (let i = 0; i < 5; i++) stranger.send(rtp(9, i), t.server.udpPort);
  // Bob knows alice's username; without her password he gets no answer and no registration.
  expect(await stranger.register({ ...a.offer }, { password: 'wrong', timeoutMs: 300 })).toBeNull();
  expect(await stranger.register({ ...a.offer, username: 'nobody' }, { timeoutMs: 300 })).toBeNull();
  for (let i = 0; i < 5; i++) stranger.send(rtp(9, 10 + i), t.server.udpPort);
  // Not STUN, not ChannelData, not RTP version 2; and an RTP header cut short.
  const notRtp = Buffer.alloc(100, 0x11);
  a.udp.send(notRtp, t.server.udpPort);
  a.udp.send(Buffer.from([0x80, 111, 0, 1]), t.server.udpPort);
  const mark = rtp(1, 1);
  await deliver(a.udp, mark, [b.udp]);
  expect(b.udp.media.every((x) => x.equals(mark))).toBe(true);
  const counters = t.server.rooms.forwarder!;
  expect(counters.dropped.unregistered).toBeGreaterThanOrEqual(10);
  expect(counters.dropped.auth).toBeGreaterThanOrEqual(2);
  expect(counters.dropped.malformed).toBeGreaterThanOrEqual(2);
});

test('a member sending over its caps is cut off; the others go on', async () => {
  const [a, b, c] = await members('band', 'alice', 'bob', 'carol');
  // The manual clock stands still: no refill, so the burst then the over-cap budget run out.
  for (let i = 0; i < 200; i++) a.udp.send(rtp(1, i), t.server.udpPort);
  await waitUntil(() => t.server.rooms.forwarder!.cutOff === 1, 'alice cut off');
  expect(t.server.rooms.registered).toBe(2);
  const got = b.udp.media.length;
  expect(got).toBeLessThanOrEqual(40);
  const mark = rtp(3, 1);
  await deliver(c.udp, mark, [b.udp]);
  // Alice's packets reach nobody now; she may register again.
  const before = t.server.rooms.forwarder!.dropped.unregistered;
  a.udp.send(rtp(1, 999), t.server.udpPort);
  await waitUntil(() => t.server.rooms.forwarder!.dropped.unregistered > before, 'dropped as unregistered');
  clock.advance(2000);
  expect(await a.udp.register(a.offer)).not.toBeNull();
  const again = rtp(1, 1000);
  await deliver(a.udp, again, [b.udp, c.udp]);
});

test('a member who left stops receiving and sending at once', async () => {
  const [a, b, c] = await members('band', 'alice', 'bob', 'carol');
  c.c.send({ type: 'room.leave', room: 'band' });
  await nextOf(c.c, 'ok');
  const p = rtp(1, 1);
  await deliver(a.udp, p, [b.udp]);
  c.udp.send(rtp(3, 1), t.server.udpPort);
  const mark = rtp(2, 2);
  await deliver(b.udp, mark, [a.udp]);
  expect(c.udp.media).toHaveLength(0);
  expect(a.udp.media.every((x) => x.equals(mark))).toBe(true);
  // Its credentials are void too.
  expect(await c.udp.register(c.offer, { timeoutMs: 300 })).toBeNull();
  expect(t.server.rooms).toMatchObject({ members: 2, registered: 2 });
});

test('a member whose address changes re-registers and receives at the new one', async () => {
  const [a, b] = await members('band', 'alice', 'bob');
  const moved = await ForwardSocket.open();
  sockets.push(moved);
  expect(await moved.register(b.offer)).toEqual({ ip: '127.0.0.1', port: moved.port });
  const p = rtp(1, 1);
  await deliver(a.udp, p, [moved]);
  expect(b.udp.media).toHaveLength(0);
  // The old address sends for nobody now; the new one does.
  b.udp.send(rtp(2, 0), t.server.udpPort);
  const mark = rtp(2, 1);
  await deliver(moved, mark, [a.udp]);
  expect(a.udp.media.every((x) => x.equals(mark))).toBe(true);
});

test('a registration lapses without a refresh for 30 s', async () => {
  const [a, b] = await members('band', 'alice', 'bob');
  clock.advance(20_000);
  expect(await b.udp.register(b.offer)).not.toBeNull();
  clock.advance(20_000);
  // Alice's registration is 40 s old: gone. Bob's, refreshed at 20 s, holds.
  expect(t.server.rooms.registered).toBe(1);
  const before = t.server.rooms.forwarder!.dropped.unregistered;
  a.udp.send(rtp(1, 1), t.server.udpPort);
  await waitUntil(() => t.server.rooms.forwarder!.dropped.unregistered > before, 'dropped as lapsed');
  expect(await a.udp.register(a.offer)).not.toBeNull();
  await deliver(b.udp, rtp(2, 1), [a.udp]);
});

test('a new address registers only once shown to receive there: without the nonce sent to it, or with another address\'s, it gets a 401 and nothing moves', async () => {
  const [a, b] = await members('band', 'alice', 'bob');
  const elsewhere = await ForwardSocket.open();
  const forger = await ForwardSocket.open();
  sockets.push(elsewhere, forger);
  const challenged = t.server.rooms.forwarder!.challenged;
  // Alice's credentials from another socket: a 401 carrying a nonce for that socket's address.
  expect(await elsewhere.register(a.offer, { prove: false, timeoutMs: 1000 })).toBeNull();
  expect(elsewhere.challenge).toMatch(/^[A-Za-z0-9_-]{22}$/);
  // That nonce is no good from a third address (as a forged source would need it to be).
  expect(await forger.register(a.offer, { nonce: elsewhere.challenge, prove: false, timeoutMs: 1000 })).toBeNull();
  expect(forger.challenge).not.toBe(elsewhere.challenge);
  expect(t.server.rooms.forwarder!.challenged).toBe(challenged + 2);
  // Alice is still where she was: bob's media reaches her first socket, not the others.
  const p = rtp(2, 7);
  await deliver(b.udp, p, [a.udp]);
  expect(elsewhere.media).toHaveLength(0);
  expect(forger.media).toHaveLength(0);
  // With its own nonce, the other socket takes the registration over.
  expect(await elsewhere.register(a.offer, { nonce: elsewhere.challenge, prove: false })).toEqual({ ip: '127.0.0.1', port: elsewhere.port });
  await deliver(b.udp, rtp(2, 8), [elsewhere]);
});
