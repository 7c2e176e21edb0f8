import { randomBytes } from 'node:crypto';
import { RawClient, ServerChild } from '../helpers/signaling';

/**
 * Several connections pour malformed lines at a real server (in its own process, so its
 * memory is its own) while two well-behaved clients register, call, answer and hang up.
 */
jest.setTimeout(60_000);

function garbage(rand: () => number): string {
  switch (Math.floor(rand() * 8)) {
    case 0:
      return randomBytes(1 + Math.floor(rand() * 200)).toString('latin1').replace(/\n/g, ' ');
    case 1:
      return '{"type":"call","to":"bob","offer":{"x":'; // truncated JSON
    case 2:
      return 'x'.repeat(70 * 1024); // over the line limit
    case 3:
      return JSON.stringify({ type: 'call', to: 42, offer: [] }); // wrong shape
    case 4:
      return JSON.stringify({ type: 'answer', call: 'nope', accept: 'yes' });
    case 5:
      return JSON.stringify([{ type: 'hello' }]);
    case 6:
      return JSON.stringify({ type: 'hello', version: 1, name: '../../etc' });
    default:
      return JSON.stringify({ type: 'hangup', call: randomBytes(16).toString('hex') });
  }
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('a storm of 10,000+ malformed lines does not stop a call, crash the server or grow its memory', async () => {
  // What is measured here is the handling of malformed lines: budgets and registration deadlines
  // (tested on their own) are set out of the way.
  const server = await ServerChild.start({ limits: { requests: { perSecond: 1e9, burst: 1e9 }, registrationTimeoutMs: 600_000 } });
  const port = server.port;
  try {
    const rssBefore = (await server.memory()).rss;
    const rand = seeded(7);
    const stormers = await Promise.all(Array.from({ length: 6 }, () => RawClient.connect(port)));
    const everyone = [...stormers];
    let sent = 0;
    const storming = (async () => {
      // Each stormer sends 19 bad lines then a ping, so it is not cut off and keeps storming;
      // every 10th round one sends 20 in a row and is replaced, to exercise the disconnect too.
      for (let round = 0; sent < 12_000; round++) {
        for (let i = 0; i < stormers.length; i++) {
          let s = stormers[i];
          if (s.closed) everyone.push((s = stormers[i] = await RawClient.connect(port)));
          const n = round % 10 === 9 && i === 0 ? 20 : 19;
          let chunk = '';
          for (let k = 0; k < n; k++) chunk += (n === 20 ? '{"type":' : garbage(rand)) + '\n';
          s.sendRaw(chunk + (n === 19 ? '{"type":"ping"}\n' : ''));
          sent += n;
        }
        await new Promise((r) => setImmediate(r));
      }
    })();

    const alice = await RawClient.register(port, 'alice');
    const bob = await RawClient.register(port, 'bob');
    for (let i = 0; i < 5; i++) {
      alice.send({ type: 'call', to: 'bob', offer: { n: i }, req: i });
      const ringing = await alice.next(10_000);
      expect(ringing).toMatchObject({ type: 'ringing', req: i });
      expect(await bob.next(10_000)).toMatchObject({ type: 'incoming', call: ringing.call, from: 'alice', offer: { n: i } });
      bob.send({ type: 'answer', call: ringing.call, accept: true, answer: { ok: i } });
      expect(await bob.next(10_000)).toEqual({ type: 'ok' });
      expect(await alice.next(10_000)).toEqual({ type: 'accepted', call: ringing.call, answer: { ok: i } });
      alice.send({ type: 'hangup', call: ringing.call });
      expect(await alice.next(10_000)).toEqual({ type: 'ok' });
      expect(await bob.next(10_000)).toEqual({ type: 'ended', call: ringing.call, by: 'alice', reason: 'hangup' });
    }
    await storming;
    expect(sent).toBeGreaterThanOrEqual(10_000);
    // Stormers got replies, not silence: the server answered each bad line.
    alice.send({ type: 'list', req: 'after' });
    expect(await alice.next(10_000)).toMatchObject({ type: 'users', req: 'after', users: [{ name: 'alice' }, { name: 'bob' }] });
    const codes = new Set(everyone.flatMap((s) => s.received.map((m) => m.code)));
    expect(codes).toEqual(new Set(['bad_request', 'too_large', 'bad_name', 'not_registered', 'too_many_errors', undefined]));
    for (const s of everyone) s.socket.destroy();
    const rssAfter = (await server.memory()).rss;
    // Bounded: 12,000 lines with ~1,500 huge ones (100 MB in all) pass through without piling up.
    expect(rssAfter - rssBefore).toBeLessThan(64 * 1024 * 1024);
    expect(server.alive).toBe(true);
    alice.socket.destroy();
    bob.socket.destroy();
  } finally {
    await server.stop();
  }
});
