import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { encodeBindingRequest, encodeChannelData, encodeStun, parseBindingSuccess, stunType, TURN_METHOD, type TurnOffer } from '../../src/protocol';
import { mint, turnPassword } from '../../src/server/turn/credentials';
import { RawClient, testServer, useTestServer } from '../helpers/signaling';
import { TurnClient, type Endpoint } from '../helpers/turn-raw';
import { waitUntil } from '../helpers/wait';
import { ManualClock } from './manual-clock';

/**
 * The embedded TURN relay, over real sockets on 127.0.0.1: credentials handed out per call and
 * party, allocations, permissions and channels, media both ways, and what it refuses. The clock is
 * manual, so rate buckets never refill unless a test says so: a cap is exactly its burst.
 */
const SECRET = 'test-secret';
let clock = new ManualClock();
// Before the server's own beforeEach, so each server gets a fresh clock (read when it starts).
beforeEach(() => {
  clock = new ManualClock();
});
const t = useTestServer({
  get clock() {
    return clock;
  },
  turnSecret: SECRET,
});
const turns: TurnClient[] = [];
afterEach(async () => {
  await Promise.all(turns.splice(0).map((c) => c.close()));
});

interface Party {
  client: RawClient;
  turn: TurnOffer;
}

/** `a` calls `b` and `b` accepts; each side's `turn` offer is returned. */
async function call(aName = 'alice', bName = 'bob', accept = true): Promise<{ call: string; a: Party; b: Party }> {
  const a = await t.registered(aName);
  const b = await t.registered(bName);
  a.send({ type: 'call', to: bName, offer: {}, req: 'c' });
  const ringing = await a.next();
  expect(ringing).toMatchObject({ type: 'ringing', req: 'c' });
  const id = ringing.call as string;
  const incoming = await b.next();
  expect(incoming).toMatchObject({ type: 'incoming', call: id });
  if (accept) {
    b.send({ type: 'answer', call: id, accept: true, answer: {} });
    expect(await b.next()).toMatchObject({ type: 'ok' });
    expect(await a.next()).toMatchObject({ type: 'accepted' });
  }
  return { call: id, a: { client: a, turn: ringing.turn as TurnOffer }, b: { client: b, turn: incoming.turn as TurnOffer } };
}

function relayOf(offer: TurnOffer): Endpoint {
  const m = /^turn:([\d.]+):(\d+)$/.exec(offer.url)!;
  return { ip: m[1], port: Number(m[2]) };
}

async function turnClient(offer: TurnOffer, creds: { username: string; password: string } = offer, host?: string): Promise<TurnClient> {
  const c = await TurnClient.open(relayOf(offer), creds, host);
  turns.push(c);
  return c;
}

/** A TURN client with an allocation; returns it and its relayed address. */
async function allocated(offer: TurnOffer): Promise<{ c: TurnClient; relay: Endpoint }> {
  const c = await turnClient(offer);
  const r = await c.allocate();
  expect(r).toMatchObject({ type: stunType(TURN_METHOD.ALLOCATE, 'SUCCESS'), lifetime: 600, signed: true, hasFingerprint: true });
  expect(r.xorMappedAddress).toEqual({ ip: '127.0.0.1', port: c.port });
  return { c, relay: r.xorRelayedAddress! };
}

const nowS = () => Math.floor(Date.now() / 1000);
const bytes = (s: string) => Buffer.from(s);

describe('TURN relay', () => {
  test('ringing and incoming carry credentials for this call and that party', async () => {
    const { call: id, a, b } = await call('alice', 'bob', false);
    const url = `turn:127.0.0.1:${t.server.udpPort}`;
    for (const [p, name] of [[a, 'alice'], [b, 'bob']] as const) {
      expect(p.turn).toEqual({ url, username: expect.stringMatching(new RegExp(`^\\d+:${id}:${name}$`)), password: turnPassword(SECRET, p.turn.username), ttl: 600 });
      const expiry = Number(p.turn.username.split(':')[0]);
      expect(Math.abs(expiry - (nowS() + 600))).toBeLessThanOrEqual(5);
    }
  });

  test('media flows A → relay A → relay B → B, and A → relay B directly, both ways', async () => {
    const { a, b } = await call();
    const A = await allocated(a.turn);
    const B = await allocated(b.turn);
    expect(A.relay.port).not.toBe(B.relay.port);
    expect(t.server.relay).toMatchObject({ allocations: 2, allocationsMade: 2 });
    // Relay to relay: each binds a channel to the other's relayed address.
    expect(await A.c.bindChannel(0x4000, B.relay)).toMatchObject({ type: stunType(TURN_METHOD.CHANNEL_BIND, 'SUCCESS'), signed: true });
    expect(await B.c.bindChannel(0x4001, A.relay)).toMatchObject({ type: stunType(TURN_METHOD.CHANNEL_BIND, 'SUCCESS'), signed: true });
    A.c.channelData(0x4000, bytes('a to b by channel'));
    expect((await B.c.waitArrivals(1))[0]).toMatchObject({ kind: 'channel', channel: 0x4001, data: bytes('a to b by channel') });
    B.c.channelData(0x4001, bytes('b to a by channel'));
    expect((await A.c.waitArrivals(1))[0]).toMatchObject({ kind: 'channel', channel: 0x4000, data: bytes('b to a by channel') });
    // A Send indication takes the same path.
    A.c.send(B.relay, bytes('a to b by send'));
    expect((await B.c.waitArrivals(2))[1]).toMatchObject({ kind: 'channel', channel: 0x4001, data: bytes('a to b by send') });
    // Straight from A's own socket to B's relay (no channel for that peer: a Data indication), and back.
    A.c.sendRaw(bytes('a direct to relay b'), B.relay);
    expect((await B.c.waitArrivals(3))[2]).toMatchObject({ kind: 'data', peer: { ip: '127.0.0.1', port: A.c.port }, data: bytes('a direct to relay b') });
    B.c.sendRaw(bytes('b direct to relay a'), A.relay);
    expect((await A.c.waitArrivals(2))[1]).toMatchObject({ kind: 'data', peer: { ip: '127.0.0.1', port: B.c.port }, data: bytes('b direct to relay a') });
    // Relay A out to B's own socket: B then sees a raw datagram from relay A.
    A.c.send({ ip: '127.0.0.1', port: B.c.port }, bytes('a via relay to b itself'));
    expect((await B.c.waitArrivals(1, (x) => x.kind === 'raw'))[0]).toMatchObject({ from: A.relay, data: bytes('a via relay to b itself') });
    const r = t.server.relay!;
    // Out of a relay: A's two channel packets and its Send, B's channel packet; into clients: those three
    // and the two direct ones.
    expect(r.toPeers.packets).toBe(4);
    expect(r.toClients.packets).toBe(5);
    expect(r.dropped).toEqual({ rate: 0, permission: 0, malformed: 0 });
  });

  test('a retransmitted Allocate gets the same success; another is 437; Refresh keeps it, lifetime 0 deletes it', async () => {
    const { a } = await call();
    const c = await turnClient(a.turn);
    await c.permit('127.0.0.1').catch(() => undefined); // picks up the realm and nonce (437: no allocation yet)
    const txn = randomBytes(12);
    const first = await c.once(TURN_METHOD.ALLOCATE, { requestedTransport: 17 }, txn);
    expect(first).toMatchObject({ type: stunType(TURN_METHOD.ALLOCATE, 'SUCCESS'), signed: true });
    const again = await c.once(TURN_METHOD.ALLOCATE, { requestedTransport: 17 }, txn);
    expect(again.xorRelayedAddress).toEqual(first.xorRelayedAddress);
    expect(await c.allocate()).toMatchObject({ type: stunType(TURN_METHOD.ALLOCATE, 'ERROR'), errorCode: 437, signed: true });
    expect(await c.refresh(99_999)).toMatchObject({ type: stunType(TURN_METHOD.REFRESH, 'SUCCESS'), lifetime: 3600, signed: true });
    expect(await c.refresh(0)).toMatchObject({ type: stunType(TURN_METHOD.REFRESH, 'SUCCESS'), lifetime: 0 });
    expect(t.server.relay!.allocations).toBe(0);
    expect(await c.refresh()).toMatchObject({ errorCode: 437 });
  });

  test('refused: bad password, expired credentials (401), a name not in the call or no live call (403), no or another transport', async () => {
    const { call: id, a } = await call();
    await t.registered('carol');
    const statuses = async (creds: { username: string; password: string }) => (await (await turnClient(a.turn, creds)).allocate()).errorCode;
    expect(await statuses({ username: a.turn.username, password: 'not-the-password' })).toBe(401);
    expect(await statuses(mint(SECRET, { callId: id, name: 'alice' }, 600, nowS() - 700))).toBe(401);
    expect(await statuses(mint('another-secret', { callId: id, name: 'alice' }, 600, nowS()))).toBe(401);
    expect(await statuses(mint(SECRET, { callId: id, name: 'carol' }, 600, nowS()))).toBe(403);
    expect(await statuses(mint(SECRET, { callId: 'f'.repeat(32), name: 'alice' }, 600, nowS()))).toBe(403);
    expect(await statuses({ username: 'alice', password: 'x' })).toBe(401);
    const c = await turnClient(a.turn);
    expect(await c.request(TURN_METHOD.ALLOCATE, {})).toMatchObject({ errorCode: 400, signed: true });
    expect(await c.request(TURN_METHOD.ALLOCATE, { requestedTransport: 6 })).toMatchObject({ errorCode: 442, signed: true });
    expect(t.server.relay!.allocations).toBe(0);
  });

  test('permissions and channels only toward the other party: a third party or anyone else is 403; a bound channel is not rebound', async () => {
    const carol = await RawClient.connect(t.server.port, { from: '127.0.0.3' });
    carol.send({ type: 'hello', version: 1, name: 'carol' });
    expect(await carol.next()).toMatchObject({ type: 'welcome' });
    const { a } = await call();
    const A = await allocated(a.turn);
    for (const ip of ['127.0.0.3', '10.0.0.9', '224.0.0.1', '0.0.0.0']) {
      expect(await A.c.permit(ip)).toMatchObject({ errorCode: 403, signed: true });
      expect(await A.c.bindChannel(0x4100, { ip, port: 5000 })).toMatchObject({ errorCode: 403 });
    }
    expect(await A.c.permit('127.0.0.1')).toMatchObject({ type: stunType(TURN_METHOD.CREATE_PERMISSION, 'SUCCESS') });
    expect(await A.c.bindChannel(0x4000, { ip: '127.0.0.1', port: 5000 })).toMatchObject({ type: stunType(TURN_METHOD.CHANNEL_BIND, 'SUCCESS') });
    expect(await A.c.bindChannel(0x4000, { ip: '127.0.0.1', port: 5000 })).toMatchObject({ type: stunType(TURN_METHOD.CHANNEL_BIND, 'SUCCESS') });
    expect(await A.c.bindChannel(0x4000, { ip: '127.0.0.1', port: 5001 })).toMatchObject({ errorCode: 400 });
    expect(await A.c.bindChannel(0x4001, { ip: '127.0.0.1', port: 5000 })).toMatchObject({ errorCode: 400 });
    expect(await A.c.bindChannel(0x3fff, { ip: '127.0.0.1', port: 5002 })).toMatchObject({ errorCode: 400 });
    // Never to the server's own UDP port, even on a permitted address.
    A.c.send({ ip: '127.0.0.1', port: t.server.udpPort }, bytes('loop'));
    await waitUntil(() => t.server.relay!.dropped.permission === 1, 'the datagram to the server port is dropped');
  });

  test('a datagram from an address without a permission reaches no one', async () => {
    const { a } = await call();
    const A = await allocated(a.turn);
    await A.c.permit('127.0.0.1');
    const stranger = await turnClient(a.turn, a.turn, '127.0.0.3');
    stranger.sendRaw(bytes('let me in'), A.relay);
    await waitUntil(() => t.server.relay!.dropped.permission === 1, 'the stranger is dropped');
    expect(A.c.arrivals).toHaveLength(0);
  });

  test('one source flooding requests is cut to its budget; another source still allocates', async () => {
    const { a } = await call();
    const flooder = await turnClient(a.turn, a.turn, '127.0.0.5');
    const r = t.server.relay!;
    let answered = 0;
    const pending: Promise<unknown>[] = [];
    // In batches the kernel's buffers take whole; each batch is either answered or dropped.
    for (let batch = 1; batch <= 6; batch++) {
      for (let i = 0; i < 50; i++) pending.push(flooder.once(TURN_METHOD.ALLOCATE, { requestedTransport: 17 }, randomBytes(12)).then(() => answered++, () => null));
      await waitUntil(() => answered + r.dropped.rate >= 50 * batch, `batch ${batch} is answered or dropped`);
    }
    // The manual clock stands still: exactly the burst of 200 was answered (401s), the rest dropped.
    expect(answered).toBe(200);
    expect(r.dropped.rate).toBe(100);
    const A = await allocated(a.turn);
    expect(A.relay.port).toBeGreaterThan(0);
    await Promise.all(pending);
  }, 30_000);

  test('at most two allocations per party per call, and the server-wide cap: 486', async () => {
    await t.restart({ clock, turnSecret: SECRET, host: '127.0.0.1', port: 0, udpPort: 0, relayLimits: { maxAllocations: 3 } });
    const { a, b } = await call();
    await allocated(a.turn);
    await allocated(a.turn);
    expect(await (await turnClient(a.turn)).allocate()).toMatchObject({ errorCode: 486, signed: true });
    await allocated(b.turn);
    expect(await (await turnClient(b.turn)).allocate()).toMatchObject({ errorCode: 486, signed: true });
    expect(t.server.relay!.allocations).toBe(3);
  });

  test('when the call ends its allocations go: packets stop, sockets closed', async () => {
    const { call: id, a, b } = await call();
    const A = await allocated(a.turn);
    const B = await allocated(b.turn);
    await A.c.bindChannel(0x4000, { ip: '127.0.0.1', port: B.c.port });
    A.c.channelData(0x4000, bytes('before'));
    await B.c.waitArrivals(1);
    b.client.send({ type: 'hangup', call: id });
    expect(await a.client.next()).toMatchObject({ type: 'ended', reason: 'hangup' });
    await waitUntil(() => t.server.relay!.allocations === 0, 'both allocations are deleted');
    A.c.channelData(0x4000, bytes('after'));
    await waitUntil(() => t.server.relay!.dropped.permission === 1, 'the packet after the end is dropped');
    expect(B.c.arrivals).toHaveLength(1);
    expect(await A.c.refresh()).toMatchObject({ errorCode: 437 });
    // The relay ports are free again: their sockets were closed.
    for (const port of [A.relay.port, B.relay.port]) {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(port, '127.0.0.1', resolve);
      });
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });

  test('a party leaving (bye) ends the call and its allocations', async () => {
    const { a, b } = await call();
    await allocated(a.turn);
    await allocated(b.turn);
    b.client.send({ type: 'bye' });
    expect(await a.client.next()).toMatchObject({ type: 'ended', reason: 'peer_gone' });
    await waitUntil(() => t.server.relay!.allocations === 0, 'both allocations are deleted');
  });

  test('a flood over the packet cap is cut to the cap; the other direction and another call carry on', async () => {
    const first = await call('alice', 'bob');
    const second = await call('carol', 'dave');
    const A = await allocated(first.a.turn);
    const B = await allocated(first.b.turn);
    const C = await allocated(second.a.turn);
    const D = await turnClient(second.b.turn);
    await A.c.bindChannel(0x4000, { ip: '127.0.0.1', port: B.c.port });
    await B.c.permit('127.0.0.1');
    await C.c.bindChannel(0x4000, { ip: '127.0.0.1', port: D.port });
    const flood = 200;
    const r = t.server.relay!;
    // In batches the kernel's buffers take whole, each handled before the next.
    for (let sent = 50; sent <= flood; sent += 50) {
      for (let i = 0; i < 50; i++) A.c.channelData(0x4000, Buffer.alloc(100, i));
      await waitUntil(() => r.toPeers.packets + r.dropped.rate >= sent, `${sent} packets are handled`);
    }
    // The manual clock stands still: exactly the burst (50 packets) went through.
    expect(r.toPeers.packets).toBe(50);
    expect(r.dropped.rate).toBe(flood - 50);
    await B.c.waitArrivals(50);
    // B → A's relay (the other direction of A's allocation) and the other call are untouched.
    for (let i = 0; i < 10; i++) B.c.sendRaw(Buffer.from(`b${i}`), A.relay);
    for (let i = 0; i < 10; i++) C.c.channelData(0x4000, Buffer.from(`c${i}`));
    expect(await A.c.waitArrivals(10)).toHaveLength(10);
    expect(await D.waitArrivals(10)).toHaveLength(10);
    // Time moves on: the bucket refills and A's packets pass again.
    clock.advance(1000);
    A.c.channelData(0x4000, bytes('later'));
    expect((await B.c.waitArrivals(51)).at(-1)!.data).toEqual(bytes('later'));
  });

  test('a client that keeps flooding past its caps loses its allocation; the other party keeps its own', async () => {
    await t.restart({ clock, turnSecret: SECRET, host: '127.0.0.1', port: 0, udpPort: 0, relayLimits: { overCapBudget: { perSecond: 50, burst: 100 } } });
    const { a, b } = await call();
    const A = await allocated(a.turn);
    const B = await allocated(b.turn);
    await A.c.bindChannel(0x4000, { ip: '127.0.0.1', port: B.c.port });
    const r = t.server.relay!;
    const seen = () => r.toPeers.packets + r.dropped.rate + r.dropped.permission;
    for (let batch = 1; batch <= 4; batch++) {
      for (let i = 0; i < 50; i++) A.c.channelData(0x4000, Buffer.alloc(100, i));
      await waitUntil(() => seen() >= 50 * batch, `batch ${batch} is handled`);
    }
    // 50 relayed (the burst), 101 over the caps (the last one past the budget ends it), then no allocation.
    expect(r).toMatchObject({ toPeers: { packets: 50 }, dropped: { rate: 101, permission: 49 }, allocations: 1 });
    expect(await A.c.refresh()).toMatchObject({ errorCode: 437 });
    expect(await B.c.refresh()).toMatchObject({ lifetime: 600, signed: true });
  });

  test('allocations end with their lifetime; an old nonce is stale (438) and the retry succeeds', async () => {
    await t.restart({ clock, turnSecret: SECRET, host: '127.0.0.1', port: 0, udpPort: 0, heartbeatTimeoutMs: 1e9, ringTimeoutMs: 1e9 });
    const { a } = await call();
    const A = await allocated(a.turn);
    clock.advance(599_000);
    expect(t.server.relay!.allocations).toBe(1);
    expect(await A.c.refresh()).toMatchObject({ lifetime: 600, signed: true });
    // The nonce was issued at 0 and lasts 10 minutes.
    clock.advance(2000);
    const refreshed = await A.c.once(TURN_METHOD.REFRESH, {});
    expect(refreshed).toMatchObject({ errorCode: 438, nonce: expect.any(String) });
    A.c.nonce = refreshed.nonce;
    expect(await A.c.refresh()).toMatchObject({ lifetime: 600, signed: true });
    clock.advance(599_000);
    expect(t.server.relay!.allocations).toBe(1);
    clock.advance(2000);
    expect(t.server.relay!.allocations).toBe(0);
  });

  test('garbage on the UDP port crashes nothing; Binding still answers and the relay still works', async () => {
    const { a } = await call();
    const A = await allocated(a.turn);
    const s = await turnClient(a.turn);
    const server = relayOf(a.turn);
    const txn = randomBytes(12);
    const junk: Buffer[] = [
      Buffer.alloc(0),
      randomBytes(3),
      encodeChannelData(0x4000, randomBytes(10)).subarray(0, 8),
      Buffer.from([0x40, 0x00, 0xff, 0xff, 1, 2, 3, 4]),
      encodeChannelData(0x4fff, randomBytes(4000)),
      encodeStun(stunType(TURN_METHOD.SEND, 'INDICATION'), txn, { data: randomBytes(10) }),
      encodeStun(stunType(TURN_METHOD.DATA, 'INDICATION'), txn, {}),
      encodeStun(stunType(TURN_METHOD.ALLOCATE, 'SUCCESS'), txn, {}),
      encodeStun(stunType(0x00f, 'REQUEST'), txn, {}),
      encodeStun(stunType(TURN_METHOD.ALLOCATE, 'REQUEST'), txn, { username: 'x'.repeat(500), realm: 'parley', nonce: 'zz.zz' }, randomBytes(16)),
      Buffer.alloc(5000, 1),
    ];
    for (let i = 0; i < 300; i++) {
      const b = randomBytes(20 + (i % 200));
      b.writeUInt32BE(0x2112a442, 4);
      b[0] &= 3;
      junk.push(b);
    }
    for (const j of junk) s.sendRaw(j, server);
    // Asked again until answered, as a STUN client retransmits: the kernel may drop some of a burst.
    const answered = () => s.arrivals.find((x) => parseBindingSuccess(x.data) !== null);
    await waitUntil(() => answered() ?? void s.sendRaw(encodeBindingRequest(txn), server), 'Binding is answered', 15_000, 100);
    expect(parseBindingSuccess(answered()!.data)).toMatchObject({ address: '127.0.0.1', port: s.port });
    expect(t.server.relay!.dropped.malformed).toBeGreaterThan(0);
    expect(await A.c.refresh()).toMatchObject({ lifetime: 600, signed: true });
  });
});

describe('relay options', () => {
  test('turnUrl points clients at an external relay (credentials under its secret) and runs none here', async () => {
    await t.restart({ host: '127.0.0.1', port: 0, udpPort: 0, turnUrl: 'turn:relay.example:3478', turnSecret: 'coturn-secret', turnTtlS: 3600 });
    expect(t.server.relay).toBeNull();
    const { a, b } = await call('alice', 'bob', false);
    for (const p of [a, b]) expect(p.turn).toEqual({ url: 'turn:relay.example:3478', username: expect.any(String), password: turnPassword('coturn-secret', p.turn.username), ttl: 3600 });
  });

  test('relay: false offers no relay; turnUrl without a secret is refused', async () => {
    await t.restart({ host: '127.0.0.1', port: 0, udpPort: 0, relay: false });
    expect(t.server.relay).toBeNull();
    const { a, b } = await call('alice', 'bob', false);
    expect(a.turn).toBeUndefined();
    expect(b.turn).toBeUndefined();
    await expect(testServer({ turnUrl: 'turn:relay.example:3478' })).rejects.toThrow(/turnUrl needs turnSecret/);
  });
});
