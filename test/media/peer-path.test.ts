/**
 * Connectivity checks within bounds an offer cannot lift. A 1.6 KB offer listing 32 addresses
 * (the callee's own loopback among them) used to make an answering callee send ~6,400 checks
 * (153 KB) over 10 s to wherever the caller chose: 94× amplification.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { NullSink, SilenceSource, getCodec } from '../../src/audio';
import type { Candidate } from '../../src/media/candidates';
import { MediaError } from '../../src/media/errors';
import { MediaSession } from '../../src/media/media-session';
import { answerOffer, MEDIA_DESCRIPTION_VERSION, type Offer } from '../../src/media/negotiation';
import { PeerPath, candidatesToCheck } from '../../src/media/peer-path';
import { UdpLink, type Address } from '../../src/media/udp-link';
import { decodeProbe, encodeProbe, type Probe } from '../../src/protocol/rtp';
import { ManualTimers } from '../helpers/audio';
import { waitFor, waitUntil } from '../helpers/wait';

/** UDP sockets that count what reaches them. */
async function listeners(ip: string, n: number) {
  const sockets = await Promise.all(
    Array.from({ length: n }, async () => {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, ip, () => r()));
      return s;
    }),
  );
  const counts = sockets.map(() => 0);
  const markers = sockets.map(() => false);
  sockets.forEach((s, i) =>
    s.on('message', (m) => {
      if (m.toString() === 'marker') markers[i] = true;
      else counts[i]++;
    }),
  );
  return {
    candidates: sockets.map((s): Candidate => ({ ip, port: s.address().port, type: 'host' })),
    counts,
    /** Waits until a marker sent now has reached every socket: what was sent before it has too. */
    async flush() {
      const probe = dgram.createSocket('udp4');
      for (const s of sockets) probe.send('marker', s.address().port, ip);
      await waitUntil(() => markers.every(Boolean), 'the markers to arrive');
      probe.close();
    },
    close: () => sockets.forEach((s) => s.close()),
  };
}

/** An address of this machine that is not loopback, to receive checks a callee may send. */
const routable = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

/** Answers a crafted offer the way an auto-answering callee does, and runs its media session until it gives up. */
async function answerAndRun(offer: Offer, opts: { allowLoopback?: boolean; host: string }) {
  const link = await UdpLink.open({ host: opts.host });
  const result = answerOffer(offer, { codecs: [{ name: 'pcm', payloadType: 96, clockRate: 16000, frameMs: 20 }], red: true, candidates: link.candidates(), ssrc: 7 });
  if (!result.ok) throw new Error(result.message);
  const session = new MediaSession({
    link,
    agreement: result.agreement,
    codec: getCodec('pcm'),
    source: new SilenceSource(),
    sink: new NullSink(),
    connectTimeoutMs: 3000,
    allowLoopback: opts.allowLoopback,
  });
  const failed = waitFor<[Error]>(session, 'failed', 30_000);
  await session.start();
  const [err] = await failed;
  return err;
}

function craftedOffer(candidates: Candidate[]): Offer {
  return { v: MEDIA_DESCRIPTION_VERSION, codecs: [{ name: 'pcm', payloadType: 96, clockRate: 16000, frameMs: 20 }], red: { payloadType: 63 }, candidates, ssrc: 99 };
}

/** Checks the callee may send in the 3 s window: 5 addresses × (first + retries at 100, 300, 700, 1500 ms). */
const MAX_CHECKS = 5 * 5;

(routable ? describe : describe.skip)(`a crafted offer of 32 addresses (callee bound to all interfaces, ${routable})`, () => {
  test('gets checks to at most 5 of them, bounded in number, none to loopback, then a no_path failure', async () => {
    const loop = await listeners('127.0.0.1', 16);
    const lan = await listeners(routable as string, 16);
    try {
      // Loopback first: an offer that tries to aim the callee at its own machine.
      const offer = craftedOffer([...loop.candidates, ...lan.candidates]);
      const err = await answerAndRun(offer, { host: '0.0.0.0' });
      await Promise.all([loop.flush(), lan.flush()]);
      expect(err).toBeInstanceOf(MediaError);
      expect(err).toMatchObject({ code: 'no_path', message: 'no media path to the peer: none of 5 addresses answered within 3 s' });
      expect(loop.counts.reduce((a, b) => a + b)).toBe(0);
      const hit = lan.counts.filter((c) => c > 0);
      const total = lan.counts.reduce((a, b) => a + b);
      expect(hit.length).toBeGreaterThanOrEqual(1);
      expect(hit.length).toBeLessThanOrEqual(5);
      expect(total).toBeLessThanOrEqual(MAX_CHECKS);
      // Less out than in: each check is 24 bytes of UDP payload.
      expect(total * 24).toBeLessThan(JSON.stringify(offer).length);
    } finally {
      loop.close();
      lan.close();
    }
  });
});

test('on loopback itself (allowLoopback) the same bounds hold', async () => {
  const loop = await listeners('127.0.0.1', 32);
  try {
    const err = await answerAndRun(craftedOffer(loop.candidates), { host: '0.0.0.0', allowLoopback: true });
    await loop.flush();
    expect(err).toMatchObject({ code: 'no_path' });
    expect(loop.counts.filter((c) => c > 0).length).toBeLessThanOrEqual(5);
    expect(loop.counts.slice(5).every((c) => c === 0)).toBe(true);
    expect(loop.counts.reduce((a, b) => a + b)).toBeLessThanOrEqual(MAX_CHECKS);
  } finally {
    loop.close();
  }
});

describe('which addresses are checked', () => {
  const c = (ip: string, port = 5000, type: Candidate['type'] = 'host'): Candidate => ({ ip, port, type });
  const none = { allowLoopback: false, allowLinkLocal: false, max: 5 };

  test('never the unusable, loopback or link-local unless allowed; each once; host, then srflx, then relay; at most max', () => {
    const offered = [
      c('10.0.0.1', 1, 'relay'),
      c('127.0.0.1'),
      c('169.254.3.4'),
      c('0.0.0.0'),
      c('224.0.0.251'),
      c('255.255.255.255'),
      c('240.1.2.3'),
      c('::1'),
      c('fe80::1'),
      c('localhost'),
      c('10.0.0.2', 2, 'srflx'),
      c('10.0.0.3', 3),
      c('10.0.0.3', 3),
      c('192.0.2.9', 4),
    ];
    expect(candidatesToCheck(offered, none)).toEqual([c('10.0.0.3', 3), c('192.0.2.9', 4), c('10.0.0.2', 2, 'srflx'), c('10.0.0.1', 1, 'relay')]);
    expect(candidatesToCheck(offered, { ...none, allowLoopback: true }).map((x) => x.ip)).toContain('127.0.0.1');
    expect(candidatesToCheck(offered, { ...none, allowLinkLocal: true }).map((x) => x.ip)).toContain('169.254.3.4');
    expect(candidatesToCheck(offered, { ...none, max: 2 })).toHaveLength(2);
  });
});

/** A link that records what is sent, on manual time. */
class FakeLink extends EventEmitter {
  readonly sent: { to: Address; at: number; probe: Probe | null }[] = [];
  constructor(
    readonly host: string,
    private readonly timers: ManualTimers,
  ) {
    super();
  }
  send(buf: Buffer, to: Address): void {
    this.sent.push({ to, at: this.timers.now(), probe: decodeProbe(buf) });
  }
}

function fakePath(candidates: Candidate[], host = '0.0.0.0', opts: ConstructorParameters<typeof PeerPath>[4] = {}) {
  const timers = new ManualTimers();
  const link = new FakeLink(host, timers);
  const path = new PeerPath(link as unknown as UdpLink, candidates, 1, 2, { timers, ...opts });
  return { timers, link, path };
}

const addrs = (n: number, base = '10.1.0.') => Array.from({ length: n }, (_, i): Candidate => ({ ip: `${base}${i + 1}`, port: 4000 + i, type: 'host' }));
const key = (a: Address) => `${a.ip}:${a.port}`;

describe('PeerPath on manual time', () => {
  test('paces checks, backs off per address, and gives up at the timeout with nothing sent after', () => {
    const { timers, link, path } = fakePath(addrs(32));
    const failures: string[] = [];
    path.on('failed', (m) => failures.push(m));
    path.start();
    timers.advance(10_000);
    const sends = link.sent;
    // Only five addresses, only pings, each at least 50 ms after the one before.
    expect(new Set(sends.map((s) => key(s.to)))).toEqual(new Set(addrs(5).map(key)));
    expect(sends.every((s) => s.probe?.kind === 'ping' && s.probe.ssrc === 1)).toBe(true);
    for (let i = 1; i < sends.length; i++) expect(sends[i].at - sends[i - 1].at).toBeGreaterThanOrEqual(50);
    // Each address: retries wait at least 100, 200, 400, 800, 1600, 1600 ms.
    for (const a of addrs(5)) {
      const at = sends.filter((s) => key(s.to) === key(a)).map((s) => s.at);
      const gaps = at.slice(1).map((t, i) => t - at[i]);
      gaps.forEach((g, i) => expect(g).toBeGreaterThanOrEqual(Math.min(100 * 2 ** i, 1600)));
    }
    expect(sends.length).toBeLessThanOrEqual(5 * 7);
    expect(Math.max(...sends.map((s) => s.at))).toBeLessThan(5000);
    expect(failures).toEqual(['no media path to the peer: none of 5 addresses answered within 5 s']);
    expect(timers.size).toBe(0);
  });

  test('loopback is checked only when this side is on loopback, link-local only when allowed', () => {
    const offered = [...addrs(1, '127.0.0.'), ...addrs(1, '169.254.0.')];
    const cases: [string, { allowLoopback?: boolean; allowLinkLocal?: boolean }, string[]][] = [
      ['0.0.0.0', { allowLinkLocal: false }, []],
      ['127.0.0.1', { allowLinkLocal: false }, ['127.0.0.1:4000']],
      ['0.0.0.0', { allowLoopback: true, allowLinkLocal: false }, ['127.0.0.1:4000']],
      ['0.0.0.0', { allowLinkLocal: true }, ['169.254.0.1:4000']],
      ['169.254.0.9', {}, ['169.254.0.1:4000']],
    ];
    for (const [host, opts, expected] of cases) expect(fakePath(offered, host, opts).path.checked.map(key)).toEqual(expected);
  });

  test("the peer's ping is answered where it came from and triggers a check back; an answered check becomes the path", () => {
    const { timers, link, path } = fakePath(addrs(2));
    const selected: Address[] = [];
    path.on('selected', (a) => selected.push(a));
    path.start();
    timers.advance(60);
    const before = link.sent.length;
    // The peer pings from an address it never offered (a NAT mapping): answered, checked, let in.
    const nat = { ip: '203.0.113.5', port: 6000 };
    expect(path.handleProbe(encodeProbe({ kind: 'ping', ssrc: 2, sentAt: 5 }), nat)).toBe(true);
    expect(link.sent[before]).toMatchObject({ to: nat, probe: { kind: 'pong', ssrc: 2, sentAt: 5 } });
    expect(path.accepts(nat)).toBe(true);
    timers.advance(50);
    expect(link.sent.slice(before + 1).map((s) => key(s.to))).toContain(key(nat));
    // Its pong selects it, and from then on only it is let in and pinged, once a second.
    const mark = link.sent.length;
    expect(path.handleProbe(encodeProbe({ kind: 'pong', ssrc: 1, sentAt: timers.now() - 12 }), nat)).toBe(true);
    expect(selected).toEqual([nat]);
    expect(path.rttMs).toBe(12);
    expect(path.accepts(addrs(1)[0])).toBe(false);
    timers.advance(3000);
    expect(link.sent.slice(mark).map((s) => [key(s.to), s.at - 110])).toEqual([0, 1000, 2000, 3000].map((t) => [key(nat), t]));
    path.stop();
    expect(timers.size).toBe(0);
  });

  test('refuses what is not the peer: wrong SSRC, pongs from addresses never pinged, a third learned address', () => {
    const { timers, link, path } = fakePath(addrs(1));
    path.start();
    expect(path.handleProbe(encodeProbe({ kind: 'ping', ssrc: 3, sentAt: 0 }), addrs(1)[0])).toBe(false);
    expect(path.handleProbe(encodeProbe({ kind: 'pong', ssrc: 1, sentAt: 0 }), { ip: '198.51.100.1', port: 9 })).toBe(false);
    expect(path.address).toBeNull();
    for (let i = 1; i <= 3; i++) path.handleProbe(encodeProbe({ kind: 'ping', ssrc: 2, sentAt: 0 }), { ip: `198.51.100.${i}`, port: 9 });
    expect(path.checked.map(key)).toEqual(['10.1.0.1:4000', '198.51.100.1:9', '198.51.100.2:9']);
    timers.advance(10_000);
    expect(link.sent.filter((s) => s.to.ip === '198.51.100.3' && s.probe?.kind === 'ping')).toEqual([]);
  });

  test('two sides that settle on different address pairs still hear each other', () => {
    // Each side has one socket on all interfaces: it sends from its loopback address to a
    // loopback destination and from its LAN address otherwise, as the kernel picks.
    const timers = new ManualTimers();
    const addr = { aLan: { ip: '192.0.2.10', port: 1000 }, aLo: { ip: '127.0.0.1', port: 1000 }, bLan: { ip: '192.0.2.20', port: 2000 }, bLo: { ip: '127.0.0.1', port: 2000 } };
    const paths: Record<'a' | 'b', PeerPath> = {} as never;
    const link = (self: 'a' | 'b') => ({
      host: '0.0.0.0',
      send(buf: Buffer, to: Address) {
        const from = to.ip === '127.0.0.1' ? (self === 'a' ? addr.aLo : addr.bLo) : self === 'a' ? addr.aLan : addr.bLan;
        timers.setTimeout(() => paths[self === 'a' ? 'b' : 'a'].handleProbe(buf, from), 1);
      },
    });
    const host = (a: Address): Candidate => ({ ...a, type: 'host' });
    // A offers its loopback address first, B its LAN address first.
    paths.a = new PeerPath(link('a') as unknown as UdpLink, [host(addr.bLan), host(addr.bLo)], 1, 2, { timers, allowLoopback: true });
    paths.b = new PeerPath(link('b') as unknown as UdpLink, [host(addr.aLo), host(addr.aLan)], 2, 1, { timers, allowLoopback: true });
    paths.a.start();
    paths.b.start();
    timers.advance(10);
    expect(paths.a.address).toEqual(addr.bLan);
    expect(paths.b.address).toEqual(addr.aLo);
    // A's media to B's LAN address leaves from A's LAN address; B's to A's loopback from B's.
    expect(paths.b.accepts(addr.aLan)).toBe(true);
    expect(paths.a.accepts(addr.bLo)).toBe(true);
    paths.a.stop();
    paths.b.stop();
  });
});
