/** The TURN client against a hand-written server: stale nonces, refusals, odd answers, junk. */
import dgram from 'node:dgram';
import { RelayError } from '../../src/media/turn/errors';
import { RelayAllocation, type RelayOptions } from '../../src/media/turn/relay-allocation';
import { retransmitSchedule } from '../../src/media/turn/turn-transaction';
import { UdpLink, type Address } from '../../src/media/udp-link';
import { STUN_BINDING_SUCCESS, TURN_METHOD, encodeBindingSuccess, encodeChannelData, encodeStun, stunType } from '../../src/protocol/stun';
import { ManualTimers } from '../helpers/audio';
import { FakeTurn } from '../helpers/fake-turn';
import { delay, waitUntil } from '../helpers/wait';

let server: FakeTurn;
let link: UdpLink;
const toClose: { close(): void }[] = [];

beforeEach(async () => {
  server = await FakeTurn.start();
  link = await UdpLink.open({ host: '127.0.0.1' });
});

afterEach(() => {
  for (const c of toClose.splice(0).reverse()) c.close();
  link.close();
  server.close();
});

async function allocate(opts: RelayOptions = {}): Promise<RelayAllocation> {
  const a = await RelayAllocation.allocate(link, server.config(), opts);
  toClose.push(a);
  return a;
}

/** Settles `p` while moving a hand-driven clock by 0 ms, so each request goes out once. */
async function pumped<T>(timers: ManualTimers, p: Promise<T>): Promise<T> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await waitUntil(() => {
    timers.advance(0);
    return done;
  }, 'settled');
  return p;
}

async function peerSocket() {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  toClose.push(s);
  return { ip: '127.0.0.1', port: s.address().port };
}

test('retransmission follows the doubling schedule within the timeout', () => {
  expect(retransmitSchedule(3000)).toEqual([0, 100, 300, 700, 1500]);
  expect(retransmitSchedule(400)).toEqual([0, 100, 300]);
  expect(retransmitSchedule(0)).toEqual([]);
});

test('the credential flow: unsigned, 401, then signed with the long-term key; relayed and mapped from the answer', async () => {
  const a = await allocate();
  const allocs = server.of(TURN_METHOD.ALLOCATE);
  expect(allocs.map((r) => r.authed)).toEqual([false, true]);
  expect(allocs[0].msg.requestedTransport).toBe(17);
  expect(allocs[1].msg).toMatchObject({ username: 'user', realm: 'fake', nonce: 'nonce-1', requestedTransport: 17 });
  expect(a.relayed).toEqual(server.relayed);
  expect(a.mapped).toEqual({ ip: '127.0.0.1', port: link.port });
  expect(a.lifetimeS).toBe(600);
});

test('438 Stale Nonce on Allocate: retried with the new nonce', async () => {
  server.script = (req) => {
    if (req.method === TURN_METHOD.ALLOCATE && req.authed && req.msg.nonce === 'nonce-1') {
      server.nonce = 'nonce-2';
      return 'default'; // now stale: answered 438 with nonce-2
    }
    return 'default';
  };
  const a = await allocate();
  expect(server.of(TURN_METHOD.ALLOCATE).map((r) => r.msg.nonce ?? null)).toEqual([null, 'nonce-1', 'nonce-2']);
  expect(a.relayed).toEqual(server.relayed);
});

test('a server that keeps moving the nonce is not followed forever', async () => {
  let n = 0;
  server.script = (req) => {
    if (req.authed) server.nonce = `moving-${n++}`;
    return 'default';
  };
  const err = await allocate().catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'refused', status: 438 });
  expect(server.of(TURN_METHOD.ALLOCATE).length).toBeLessThanOrEqual(5);
});

test.each([
  [401, 'unauthorized'],
  [403, 'forbidden'],
  [486, 'quota'],
  [437, 'refused'],
  [442, 'refused'],
])('an Allocate answered %i: %s, the message saying so', async (status, code) => {
  server.script = (req) => (req.authed ? server.error(req, status) : 'default');
  const err = await allocate().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RelayError);
  expect(err).toMatchObject({ code, status });
  expect((err as Error).message).toContain(`answered Allocate with ${status}`);
});

test('a success without a usable relayed address is refused', async () => {
  server.script = (req) => (req.authed && req.method === TURN_METHOD.ALLOCATE ? server.success(req, { lifetime: 600 }) : 'default');
  await expect(allocate()).rejects.toMatchObject({ code: 'refused', message: expect.stringContaining('XOR-RELAYED-ADDRESS') });
});

test('only the server answers: a forged answer from elsewhere, or one without our integrity, is ignored', async () => {
  const forger = dgram.createSocket('udp4');
  await new Promise<void>((r) => forger.bind(0, '127.0.0.1', () => r()));
  toClose.push(forger);
  let unsignedSent = false;
  server.script = (req) => {
    if (!(req.authed && req.method === TURN_METHOD.ALLOCATE)) return 'default';
    const forged = server.success(req, { xorRelayedAddress: { ip: '203.0.113.66', port: 6666 }, lifetime: 600 });
    forger.send(forged, req.from.port, req.from.ip);
    if (!unsignedSent) {
      unsignedSent = true;
      // Right source and id, but not signed with the key: as good as forged.
      return encodeStun(stunType(TURN_METHOD.ALLOCATE, 'SUCCESS'), req.msg.transactionId, { xorRelayedAddress: { ip: '203.0.113.77', port: 7777 }, lifetime: 600 });
    }
    return 'default';
  };
  const passedBy: Address[] = [];
  link.on('packet', (_m, from) => passedBy.push(from));
  const a = await allocate();
  expect(a.relayed).toEqual(server.relayed);
  expect(a.stats.badIntegrity).toBe(1);
  expect(a.stats.retransmits).toBeGreaterThanOrEqual(1);
  // The forger's datagram was not the allocation's to take: it went on to the link's listeners.
  await waitUntil(() => passedBy.length > 0, 'the forged answer passes by');
  expect(passedBy[0].port).toBe(forger.address().port);
});

test('403 on ChannelBind: refused, queued packets dropped and counted, later sends dropped; other peers unaffected', async () => {
  server.deny.add('198.51.100.1');
  const a = await allocate();
  const denied = { ip: '198.51.100.1', port: 4000 };
  a.send(Buffer.from('1'), denied);
  a.send(Buffer.from('2'), denied);
  await waitUntil(() => a.refused(denied), 'refused');
  expect(a.stats.droppedRefused).toBe(2);
  a.permit(denied);
  a.send(Buffer.from('3'), { ip: '198.51.100.1', port: 4001 });
  expect(a.stats.droppedRefused).toBe(3);
  expect(server.of(TURN_METHOD.CHANNEL_BIND)).toHaveLength(1);
  const ok = { ip: '198.51.100.2', port: 4000 };
  a.send(Buffer.from('fine'), ok);
  await waitUntil(() => server.relayedOut.length === 1, 'relayed');
  expect(server.relayedOut).toEqual([{ peer: ok, data: 'fine', via: 'channel' }]);
});

test('while the first bind is in flight: a few packets wait and go out in order once bound, the rest are dropped', async () => {
  let held: (() => void) | undefined;
  server.script = (req) => {
    if (req.method !== TURN_METHOD.CHANNEL_BIND || !req.authed) return 'default';
    held = () => server.send(server.success(req, {}), req.from);
    server.channels.set(req.msg.channelNumber!, req.msg.xorPeerAddresses![0]);
    return 'drop';
  };
  const a = await allocate({ timeoutMs: 10_000 });
  const peer = { ip: '192.0.2.5', port: 5004 };
  for (let i = 1; i <= 6; i++) a.send(Buffer.from(`p${i}`), peer);
  expect(a.stats.droppedQueueFull).toBe(2);
  await waitUntil(() => held, 'the bind arrives');
  expect(server.relayedOut).toEqual([]);
  held!();
  await waitUntil(() => server.relayedOut.length === 4, 'the queue flushed');
  expect(server.relayedOut.map((r) => `${r.data} ${r.via}`)).toEqual(['p1 channel', 'p2 channel', 'p3 channel', 'p4 channel']);
  a.send(Buffer.from('p7'), peer);
  await waitUntil(() => server.relayedOut.length === 5, 'then ChannelData');
  expect(a.stats.sentChannelData).toBe(5);
});

test('a second port on an IP already permitted goes by Send indication while its own bind is in flight', async () => {
  const first = { ip: '192.0.2.9', port: 1000 };
  const second = { ip: '192.0.2.9', port: 2000 };
  server.script = (req) => (req.method === TURN_METHOD.CHANNEL_BIND && req.msg.xorPeerAddresses?.[0].port === 2000 ? 'drop' : 'default');
  const a = await allocate({ timeoutMs: 10_000 });
  a.send(Buffer.from('one'), first);
  await waitUntil(() => server.relayedOut.length === 1, 'first bound');
  a.send(Buffer.from('two'), second);
  await waitUntil(() => server.relayedOut.length === 2, 'indication');
  expect(server.relayedOut[1]).toEqual({ peer: second, data: 'two', via: 'send' });
  expect(a.stats.sentIndications).toBe(1);
});

test('what comes in: ChannelData and Data indications from permitted peers as packets from the peer; junk ignored, never thrown', async () => {
  const a = await allocate();
  const peer = await peerSocket();
  a.send(Buffer.from('hello'), peer);
  await waitUntil(() => server.channels.size === 1, 'bound');
  const channel = [...server.channels.keys()][0];
  const got: { data: string; from: Address }[] = [];
  a.on('packet', (m, from) => got.push({ data: m.toString(), from }));
  const passedBy: Buffer[] = [];
  link.on('packet', (m) => passedBy.push(m));

  const valid = encodeStun(stunType(TURN_METHOD.ALLOCATE, 'SUCCESS'), Buffer.alloc(12, 1), {});
  const badFingerprint = Buffer.from(server.dataIndication(peer, Buffer.from('x')));
  badFingerprint[badFingerprint.length - 1] ^= 0xff;
  const junk: Buffer[] = [
    Buffer.from([0x40, 0x00, 0x00, 0x09, 1, 2]), // ChannelData claiming more than it has
    encodeChannelData(0x4abc, Buffer.from('unknown channel')),
    Buffer.concat([encodeChannelData(channel, Buffer.from('x')), Buffer.alloc(8)]), // padding past 3 bytes
    Buffer.alloc(5000, 0x40), // too big
    valid.subarray(0, 24), // truncated STUN
    badFingerprint,
    server.dataIndication({ ip: '203.0.113.1', port: 9 }, Buffer.from('not permitted')),
    encodeStun(stunType(TURN_METHOD.DATA, 'INDICATION'), Buffer.alloc(12), { xorPeerAddresses: [peer] }), // no DATA
    encodeStun(stunType(TURN_METHOD.DATA, 'INDICATION'), Buffer.alloc(12), { data: Buffer.from('no peer') }),
  ];
  // Not the allocation's: they pass by to the link's listeners.
  const notOurs = [Buffer.alloc(0), Buffer.from([0x40])];
  notOurs.push(
    encodeBindingSuccess(Buffer.alloc(12, 4), '127.0.0.1', 1234), // gatherReflexive's, when the TURN server is the STUN server
    encodeStun(stunType(TURN_METHOD.REFRESH, 'SUCCESS'), Buffer.alloc(12, 3), { lifetime: 0 }), // answers no transaction of ours
    Buffer.from([0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]), // RTP-looking
  );
  for (const j of [...junk, ...notOurs]) server.send(j, { ip: '127.0.0.1', port: link.port });
  server.send(encodeChannelData(channel, Buffer.from('by channel')), { ip: '127.0.0.1', port: link.port });
  server.send(server.dataIndication(peer, Buffer.from('by indication')), { ip: '127.0.0.1', port: link.port });
  await waitUntil(() => got.length === 2, 'both valid ones');
  expect(got).toEqual([
    { data: 'by channel', from: peer },
    { data: 'by indication', from: peer },
  ]);
  await waitUntil(() => passedBy.length >= notOurs.length, 'the others pass by');
  expect(passedBy).toEqual(notOurs);
  expect(passedBy[2].readUInt16BE(0)).toBe(STUN_BINDING_SUCCESS);
  expect(a.stats).toMatchObject({ droppedUnknownChannel: 1, droppedUnpermitted: 1, received: 2 });
  expect(a.stats.malformed).toBeGreaterThanOrEqual(7);
  expect(a.closed).toBe(false);
});

test('ChannelData from anyone but the server is not the allocation’s', async () => {
  const a = await allocate();
  const other = dgram.createSocket('udp4');
  await new Promise<void>((r) => other.bind(0, '127.0.0.1', () => r()));
  toClose.push(other);
  const peer = { ip: '127.0.0.1', port: 7 };
  a.permit(peer);
  await waitUntil(() => server.channels.size === 1, 'bound');
  const relayed: Buffer[] = [];
  a.on('packet', (m) => relayed.push(m));
  const passedBy: Buffer[] = [];
  link.on('packet', (m) => passedBy.push(m));
  other.send(encodeChannelData(0x4000, Buffer.from('spoof')), link.port, '127.0.0.1');
  other.send(server.dataIndication(peer, Buffer.from('spoof')), link.port, '127.0.0.1');
  await waitUntil(() => passedBy.length === 2, 'passed by');
  expect(relayed).toEqual([]);
});

test('Refresh before the lifetime runs out; a 438 on it is retried with the new nonce; a 437 loses the allocation', async () => {
  const timers = new ManualTimers();
  server.lifetime = 120;
  const a = await pumped(timers, allocate({ timers }));
  const closed: string[] = [];
  a.on('closed', (r) => closed.push(r));
  expect(a.lifetimeS).toBe(120);
  // A minute before a 120 s lifetime runs out: at 60 s.
  timers.advance(59_999);
  expect(server.of(TURN_METHOD.REFRESH)).toHaveLength(0);
  server.nonce = 'nonce-2';
  timers.advance(1);
  await waitUntil(() => {
    timers.advance(0);
    return server.of(TURN_METHOD.REFRESH).length === 2;
  }, 'refreshed with the new nonce');
  expect(server.of(TURN_METHOD.REFRESH).map((r) => r.msg.nonce)).toEqual(['nonce-1', 'nonce-2']);
  await delay(50);
  expect(closed).toEqual([]);
  expect(a.stats.refreshes).toBe(1);

  server.script = (req) => (req.method === TURN_METHOD.REFRESH ? server.error(req, 437) : 'default');
  timers.advance(60_000);
  await waitUntil(() => {
    timers.advance(0);
    return closed.length > 0;
  }, 'lost');
  expect(closed[0]).toMatch(/answered Refresh with 437 Allocation Mismatch/);
  expect(a.closed).toBe(true);
  a.close();
  expect(closed).toHaveLength(1);
  // Lost, not closed by us: no Refresh with LIFETIME 0 is sent.
  await delay(50);
  expect(server.of(TURN_METHOD.REFRESH).filter((r) => r.msg.lifetime === 0)).toHaveLength(0);
  expect(timers.size).toBe(0);
});

test('a Refresh that goes unanswered is tried again while there is time, then the allocation is lost', async () => {
  const timers = new ManualTimers();
  server.lifetime = 30;
  const a = await pumped(timers, allocate({ timers, timeoutMs: 3000 }));
  const closed: string[] = [];
  a.on('closed', (r) => closed.push(r));
  server.script = (req) => (req.method === TURN_METHOD.REFRESH ? 'drop' : 'default');
  // Due at 15 s (half of a short lifetime); each try retransmits for 3 s, then waits 1 s.
  for (let i = 0; i < 40 && closed.length === 0; i++) {
    timers.advance(1000);
    await delay(1); // lets the request's promise chain run
  }
  expect(closed).toHaveLength(1);
  expect(closed[0]).toMatch(/did not answer Refresh before the allocation expired/);
  expect(timers.now()).toBeLessThanOrEqual(31_000);
  await waitUntil(() => new Set(server.of(TURN_METHOD.REFRESH).map((r) => r.msg.transactionId.toString('hex'))).size === 3, 'three tries arrive');
  expect(a.stats.refreshes).toBe(3);
  expect(timers.size).toBe(0);
});

test('channels are bound again every few minutes; a 403 then refuses the peer', async () => {
  const timers = new ManualTimers();
  const a = await pumped(timers, allocate({ timers }));
  const peer = { ip: '192.0.2.44', port: 3000 };
  a.permit(peer);
  await waitUntil(() => {
    timers.advance(0);
    return server.of(TURN_METHOD.CHANNEL_BIND).length === 1;
  }, 'bound');
  await delay(50);
  timers.advance(240_000);
  await waitUntil(() => {
    timers.advance(0);
    return server.of(TURN_METHOD.CHANNEL_BIND).length === 2;
  }, 'bound again');
  const [first, second] = server.of(TURN_METHOD.CHANNEL_BIND);
  expect(second.msg.channelNumber).toBe(first.msg.channelNumber);
  expect(second.msg.xorPeerAddresses).toEqual([peer]);
  await delay(50);
  timers.advance(0);
  server.deny.add(peer.ip);
  timers.advance(240_000);
  await waitUntil(() => {
    timers.advance(0);
    return a.refused(peer);
  }, 'refused');
  a.send(Buffer.from('x'), peer);
  expect(a.stats.droppedRefused).toBe(1);
  expect(a.stats.channelRefreshes).toBe(2);
});

test('a bind that goes unanswered: sends dropped meanwhile, tried again after 5 s, then ChannelData', async () => {
  const timers = new ManualTimers();
  const a = await pumped(timers, allocate({ timers, timeoutMs: 1000 }));
  let answering = false;
  server.script = (req) => (req.method === TURN_METHOD.CHANNEL_BIND && !answering ? 'drop' : 'default');
  const peer = { ip: '192.0.2.60', port: 6000 };
  a.send(Buffer.from('early'), peer);
  await waitUntil(() => {
    timers.advance(0);
    return server.of(TURN_METHOD.CHANNEL_BIND).length === 1;
  }, 'the bind arrives');
  // Retransmitted for 1 s, then given up: the packet that waited is dropped, as are new ones.
  for (let i = 0; i < 11; i++) {
    timers.advance(100);
    await delay(1);
  }
  expect(a.stats.droppedUnbound).toBe(1);
  a.send(Buffer.from('meanwhile'), peer);
  expect(a.stats.droppedUnbound).toBe(2);
  answering = true;
  timers.advance(5000);
  await waitUntil(() => {
    timers.advance(0);
    a.send(Buffer.from('later'), peer);
    return server.relayedOut.length > 0;
  }, 'bound at last');
  expect(server.relayedOut[0]).toMatchObject({ peer, via: 'channel' });
  expect(a.refused(peer)).toBe(false);
});

test('an abort signal closes an allocation already made', async () => {
  const ac = new AbortController();
  const a = await allocate({ signal: ac.signal });
  const closed: string[] = [];
  a.on('closed', (r) => closed.push(r));
  ac.abort();
  expect(closed).toEqual(['closed']);
  await waitUntil(() => server.of(TURN_METHOD.REFRESH).length === 1, 'deleted on the server');
});

test('close(): one signed Refresh with LIFETIME 0, idempotent, the interceptor gone', async () => {
  const a = await allocate();
  const closed: string[] = [];
  a.on('closed', (r) => closed.push(r));
  a.close();
  a.close();
  expect(closed).toEqual(['closed']);
  await waitUntil(() => server.of(TURN_METHOD.REFRESH).length === 1, 'the Refresh');
  expect(server.of(TURN_METHOD.REFRESH)[0]).toMatchObject({ authed: true, msg: { lifetime: 0 } });
  const passedBy: Buffer[] = [];
  link.on('packet', (m) => passedBy.push(m));
  server.send(encodeChannelData(0x4000, Buffer.from('late')), { ip: '127.0.0.1', port: link.port });
  await waitUntil(() => passedBy.length === 1, 'the link sees it');
  expect(a.lifetimeS).toBe(0);
});

test('at most 16 peers; addresses no relay can reach are not permitted', async () => {
  const a = await allocate();
  for (let i = 1; i <= 17; i++) a.permit({ ip: `192.0.2.${i}`, port: 1000 });
  a.permit({ ip: '192.0.2.1', port: 1000 }); // again: idempotent
  a.permit({ ip: '::1', port: 1000 });
  a.permit({ ip: '224.0.0.1', port: 1000 });
  a.permit({ ip: '192.0.2.200', port: 0 });
  expect(a.stats.peersRejected).toBe(4);
  await waitUntil(() => server.of(TURN_METHOD.CHANNEL_BIND).filter((r) => r.authed).length === 16, 'sixteen binds');
  const numbers = server.of(TURN_METHOD.CHANNEL_BIND).map((r) => r.msg.channelNumber);
  expect(new Set(numbers).size).toBe(16);
  a.send(Buffer.from('x'), { ip: '192.0.2.17', port: 1000 });
  expect(a.stats.droppedUnbound).toBe(1);
  a.send(Buffer.alloc(5000), { ip: '192.0.2.1', port: 1000 });
  expect(a.stats.droppedTooBig).toBe(1);
});

describe('UdpLink.intercept', () => {
  test('interceptors see datagrams first, in order; true consumes; removal is idempotent, even mid-dispatch', async () => {
    const sender = dgram.createSocket('udp4');
    await new Promise<void>((r) => sender.bind(0, '127.0.0.1', () => r()));
    toClose.push(sender);
    const seen: string[] = [];
    const removeSelf: { fn?: () => void } = {};
    removeSelf.fn = link.intercept((m) => {
      seen.push(`once:${m}`);
      removeSelf.fn!();
      return false;
    });
    const removeEater = link.intercept((m) => {
      seen.push(`eater:${m}`);
      return m.toString() === 'eat';
    });
    link.intercept(() => {
      throw new Error('a buggy interceptor');
    });
    link.on('packet', (m) => seen.push(`packet:${m}`));
    const send = (s: string) => sender.send(s, link.port, '127.0.0.1');
    send('eat');
    await waitUntil(() => seen.length === 2, 'first');
    send('keep');
    await waitUntil(() => seen.length === 4, 'second');
    expect(seen).toEqual(['once:eat', 'eater:eat', 'eater:keep', 'packet:keep']);
    expect(link.interceptErrors).toBe(1);
    removeEater();
    removeEater();
    send('eat');
    await waitUntil(() => seen.length === 5, 'third');
    expect(seen[4]).toBe('packet:eat');
  });
});
