/** The TURN client (RFC 8656) against a real TURN server: a private coturn on loopback. */
import dgram from 'node:dgram';
import { RelayAllocation } from '../../src/media/turn/relay-allocation';
import { RelayError } from '../../src/media/turn/errors';
import { UdpLink, type Address } from '../../src/media/udp-link';
import { ManualTimers } from '../helpers/audio';
import { coturnMissing, startCoturn, type Coturn } from '../helpers/coturn';
import { delay, waitUntil } from '../helpers/wait';

const missing = coturnMissing();
if (missing) console.warn(missing);
const withCoturn = missing ? describe.skip : describe;

/** A plain UDP socket: a peer that knows nothing of TURN. */
async function plainPeer() {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const got: { data: string; from: Address }[] = [];
  s.on('message', (m, r) => got.push({ data: m.toString(), from: { ip: r.address, port: r.port } }));
  return { socket: s, address: { ip: '127.0.0.1', port: s.address().port }, got, close: () => s.close() };
}

/** Sends `data` every 50 ms until `arrived` holds: the first packets wait for the channel's bind. */
async function sendUntil(send: () => void, arrived: () => boolean, what: string): Promise<void> {
  await waitUntil(
    () => {
      if (arrived()) return true;
      send();
      return false;
    },
    what,
    10_000,
    50,
  );
}

withCoturn('against coturn', () => {
  let coturn: Coturn;
  const cleanup: (() => void)[] = [];
  beforeAll(async () => {
    coturn = await startCoturn();
  });
  afterEach(() => {
    for (const f of cleanup.splice(0).reverse()) f();
  });
  afterAll(async () => {
    await coturn?.stop();
  });

  async function link(): Promise<UdpLink> {
    const l = await UdpLink.open({ host: '127.0.0.1' });
    cleanup.push(() => l.close());
    return l;
  }

  async function allocate(l: UdpLink, opts: Parameters<typeof RelayAllocation.allocate>[2] = {}): Promise<RelayAllocation> {
    const a = await RelayAllocation.allocate(l, coturn.config(), opts);
    cleanup.push(() => a.close());
    return a;
  }

  test('an allocation: a relayed address on 127.0.0.1 in the relay range, and the mapped address of the socket', async () => {
    const l = await link();
    const a = await allocate(l);
    expect(a.relayed.ip).toBe('127.0.0.1');
    expect(a.relayed.port).toBeGreaterThanOrEqual(coturn.minPort);
    expect(a.relayed.port).toBeLessThanOrEqual(coturn.maxPort);
    expect(a.mapped).toEqual({ ip: '127.0.0.1', port: l.port });
    expect(a.server).toEqual({ ip: '127.0.0.1', port: coturn.port });
  });

  test('two links each allocate; a plain peer hears A from its relayed address, and A hears the peer from its own address', async () => {
    const la = await link();
    const lb = await link();
    const a = await allocate(la);
    const b = await allocate(lb);
    expect(b.relayed).not.toEqual(a.relayed);
    const peer = await plainPeer();
    cleanup.push(peer.close);
    // A's link never sees relay framing: the server's datagrams are all the allocation's.
    const leaked: Address[] = [];
    la.on('packet', (_m, from) => leaked.push(from));

    a.permit(peer.address);
    let n = 0;
    await sendUntil(() => a.send(Buffer.from(`to-peer ${n++}`), peer.address), () => peer.got.length > 0, 'the peer hears A');
    expect(peer.got[0].from).toEqual(a.relayed);
    expect(peer.got[0].data).toMatch(/^to-peer \d+$/);
    await waitUntil(() => a.stats.sentChannelData > 0, 'A sends ChannelData');

    const back: { data: string; from: Address }[] = [];
    a.on('packet', (m, from) => back.push({ data: m.toString(), from }));
    peer.socket.send('to-A', a.relayed.port, a.relayed.ip);
    await waitUntil(() => back.length > 0, 'A hears the peer');
    expect(back[0]).toEqual({ data: 'to-A', from: peer.address });
    expect(leaked).toEqual([]);
    expect(a.stats.received).toBe(1);
  });

  test('between two relays: A to B’s relayed address and back, ChannelData both ways', async () => {
    const a = await allocate(await link());
    const b = await allocate(await link());
    const atB: { data: string; from: Address }[] = [];
    const atA: { data: string; from: Address }[] = [];
    b.on('packet', (m, from) => atB.push({ data: m.toString(), from }));
    a.on('packet', (m, from) => atA.push({ data: m.toString(), from }));
    // Each side permits the other's relayed address, as ICE would for the remote relay candidate.
    a.permit(b.relayed);
    b.permit(a.relayed);
    await sendUntil(() => a.send(Buffer.from('a→b'), b.relayed), () => atB.length > 0, 'B hears A');
    await sendUntil(() => b.send(Buffer.from('b→a'), a.relayed), () => atA.length > 0, 'A hears B');
    expect(atB[0]).toEqual({ data: 'a→b', from: a.relayed });
    expect(atA[0]).toEqual({ data: 'b→a', from: b.relayed });
    expect(a.stats.sentChannelData).toBeGreaterThan(0);
    expect(b.stats.sentChannelData).toBeGreaterThan(0);
  });

  test("a wrong password: 'unauthorized', saying what the server answered", async () => {
    const l = await link();
    const err = await RelayAllocation.allocate(l, { ...coturn.config(), password: 'not-the-password' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RelayError);
    expect(err).toMatchObject({ code: 'unauthorized', status: 401 });
    expect((err as Error).message).toContain('401');
    expect((err as Error).message).not.toContain('\n');
  });

  test("an expired REST username: 'unauthorized'", async () => {
    const l = await link();
    const err = await RelayAllocation.allocate(l, { host: coturn.host, port: coturn.port, ...coturn.credentials('late', -60) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'unauthorized' });
  });

  test('close() is idempotent, emits closed once, and the relayed address goes dead', async () => {
    const l = await link();
    const a = await allocate(l);
    const peer = await plainPeer();
    cleanup.push(peer.close);
    a.permit(peer.address);
    await sendUntil(() => a.send(Buffer.from('hi'), peer.address), () => peer.got.length > 0, 'bound');
    const closed: string[] = [];
    a.on('closed', (r) => closed.push(r));
    const relayedPackets: Buffer[] = [];
    a.on('packet', (m) => relayedPackets.push(m));
    const fromServer: Buffer[] = [];
    l.on('packet', (m, from) => {
      if (from.port === coturn.port) fromServer.push(m);
    });
    a.close();
    a.close();
    expect(closed).toEqual(['closed']);
    expect(a.closed).toBe(true);
    a.send(Buffer.from('after'), peer.address);
    expect(a.stats.droppedClosed).toBe(1);
    // The Refresh with LIFETIME 0 deletes it on the server, which coturn does on its next tick
    // (under a second): probe until a probe goes unanswered, bounded.
    const relayedBack = () => fromServer.filter((m) => m[0] === 0x40).length;
    await waitUntil(async () => {
      const before = relayedBack();
      peer.socket.send('anyone?', a.relayed.port, a.relayed.ip);
      await delay(400);
      return relayedBack() === before;
    }, 'the relayed address is dead');
    // And it stays dead.
    const after = relayedBack();
    for (let i = 0; i < 3; i++) peer.socket.send('anyone?', a.relayed.port, a.relayed.ip);
    await delay(300);
    expect(relayedBack()).toBe(after);
    // The allocation let go of the link: what still arrived went to the link, not to it.
    expect(relayedPackets).toEqual([]);
  });

  test('RFC 5737 documentation addresses as peers: coturn with no peer-ip flags permits them', async () => {
    const a = await allocate(await link());
    const peers = ['192.0.2.10', '198.51.100.10', '203.0.113.10'].map((ip) => ({ ip, port: 9 }));
    for (const p of peers) a.permit(p);
    for (const p of peers) a.send(Buffer.from('x'), p);
    await waitUntil(() => a.stats.sentChannelData + a.stats.droppedRefused === 3, 'every bind answered');
    expect(peers.map((p) => a.refused(p))).toEqual([false, false, false]);
  });
});

withCoturn('against coturn with lifetimes of seconds', () => {
  let coturn: Coturn;
  beforeAll(async () => {
    // coturn raises any asked-for lifetime below 600 s to 600, but caps it at --max-allocate-lifetime.
    coturn = await startCoturn({ extraArgs: ['--max-allocate-lifetime=4', '--permission-lifetime=4', '--channel-lifetime=6'] });
  });
  afterAll(async () => {
    await coturn?.stop();
  });

  /** Settles `p` while moving a hand-driven clock just enough to send each request once. */
  async function pumped<T>(timers: ManualTimers, p: Promise<T>): Promise<T> {
    let done = false;
    void p.finally(() => (done = true)).catch(() => undefined);
    await waitUntil(() => {
      timers.advance(0);
      return done;
    }, 'settled');
    return p;
  }

  test('Refresh and ChannelBind keep the allocation and the channel alive past their lifetimes; without them it dies', async () => {
    const peer = await plainPeer();
    const la = await UdpLink.open({ host: '127.0.0.1' });
    const lb = await UdpLink.open({ host: '127.0.0.1' });
    const frozen = new ManualTimers();
    const live = await RelayAllocation.allocate(la, coturn.config(), { lifetimeS: 600, channelRefreshS: 2 });
    // The same, on a clock that never moves: nothing is ever refreshed.
    const stale = await pumped(frozen, RelayAllocation.allocate(lb, coturn.config(), { timers: frozen, lifetimeS: 600 }));
    try {
      expect(live.lifetimeS).toBe(4);
      const heard = { live: 0, stale: 0 };
      live.on('packet', () => heard.live++);
      stale.on('packet', () => heard.stale++);
      const closed: string[] = [];
      live.on('closed', (r) => closed.push(r));
      live.permit(peer.address);
      stale.permit(peer.address);
      await waitUntil(() => {
        frozen.advance(0);
        live.send(Buffer.from('x'), peer.address);
        stale.send(Buffer.from('x'), peer.address);
        return live.stats.sentChannelData > 0 && stale.stats.sentChannelData > 0;
      }, 'both bound');
      // Two and a half lifetimes: the live one refreshes every 2 s, the stale one expires.
      await delay(10_000);
      expect(live.stats.refreshes).toBeGreaterThanOrEqual(3);
      expect(live.stats.channelRefreshes).toBeGreaterThanOrEqual(3);
      expect(closed).toEqual([]);
      await waitUntil(() => {
        peer.socket.send('still there?', live.relayed.port, live.relayed.ip);
        peer.socket.send('still there?', stale.relayed.port, stale.relayed.ip);
        return heard.live > 0;
      }, 'the live allocation relays');
      await delay(300);
      expect(heard.stale).toBe(0);
    } finally {
      live.close();
      stale.close();
      la.close();
      lb.close();
      peer.close();
    }
  });
});

withCoturn('against coturn with a denied peer range', () => {
  let coturn: Coturn;
  beforeAll(async () => {
    coturn = await startCoturn({ extraArgs: ['--denied-peer-ip=192.0.2.0-192.0.2.255'] });
  });
  afterAll(async () => {
    await coturn?.stop();
  });

  test('403 on ChannelBind: the peer is refused, its packets dropped and counted; others still relay', async () => {
    const l = await UdpLink.open({ host: '127.0.0.1' });
    const a = await RelayAllocation.allocate(l, coturn.config());
    try {
      const denied = { ip: '192.0.2.7', port: 5000 };
      a.send(Buffer.from('one'), denied);
      a.send(Buffer.from('two'), denied);
      await waitUntil(() => a.refused(denied), 'refused');
      expect(a.stats.droppedRefused).toBe(2);
      a.send(Buffer.from('three'), denied);
      expect(a.stats.droppedRefused).toBe(3);
      expect(a.refused({ ip: '192.0.2.7', port: 6000 })).toBe(true);
      const ok = { ip: '198.51.100.7', port: 5000 };
      a.send(Buffer.from('fine'), ok);
      await waitUntil(() => a.stats.sentChannelData === 1, 'the other peer bound');
      expect(a.refused(ok)).toBe(false);
    } finally {
      a.close();
      l.close();
    }
  });
});

test("an unreachable server: 'timeout' after retransmissions", async () => {
  const silent = dgram.createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
  let requests = 0;
  silent.on('message', () => requests++);
  const l = await UdpLink.open({ host: '127.0.0.1' });
  try {
    const err = await RelayAllocation.allocate(l, { host: '127.0.0.1', port: silent.address().port, username: 'u', password: 'p' }, { timeoutMs: 400 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RelayError);
    expect(err).toMatchObject({ code: 'timeout' });
    expect((err as Error).message).toMatch(/no answer from TURN server 127\.0\.0\.1:\d+ to Allocate/);
    // 0, 100 and 300 ms: the schedule within 400 ms.
    await waitUntil(() => requests >= 3, 'three requests arrive');
    expect(requests).toBe(3);
  } finally {
    l.close();
    silent.close();
  }
});

test("aborting the allocation: 'closed'", async () => {
  const silent = dgram.createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
  const l = await UdpLink.open({ host: '127.0.0.1' });
  try {
    const ac = new AbortController();
    const p = RelayAllocation.allocate(l, { host: '127.0.0.1', port: silent.address().port, username: 'u', password: 'p' }, { signal: ac.signal });
    await delay(50);
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'closed' });
  } finally {
    l.close();
    silent.close();
  }
});

