import { performance } from 'node:perf_hooks';
import { RawClient, ServerChild } from '../helpers/signaling';

/**
 * One connection writes 4,096 `list` requests in a single 64 KiB write at a server holding 5,000
 * registered 32-character names. The work that write may cause is bounded: another client's ping
 * is answered at once all the while, and the server's memory stays bounded.
 */
jest.setTimeout(180_000);

const NAMES = 5000;
let server: ServerChild;
const clients: RawClient[] = [];

beforeAll(async () => {
  server = await ServerChild.start({ limits: { maxConnectionsPerAddress: NAMES + 10, maxConnections: NAMES + 10 } });
  for (let i = 0; i < NAMES; i += 250) {
    const batch = Array.from({ length: Math.min(250, NAMES - i) }, (_, k) => RawClient.register(server.port, `user-${String(i + k).padStart(27, '0')}`));
    clients.push(...(await Promise.all(batch)));
  }
});
afterAll(async () => {
  for (const c of clients) c.socket.destroy();
  await server.stop();
});

test('4,096 list lines in one write neither stall another client nor grow the server without bound', async () => {
  expect(clients[0].received[0]).toMatchObject({ type: 'welcome', name: expect.stringMatching(/^.{32}$/) });
  const victim = await RawClient.register(server.port, 'victim');
  clients.push(victim);
  const before = await server.memory();
  expect(before.clients).toBe(NAMES + 1);

  const attacker = clients[0];
  const burst = '{"type":"list"}\n'.repeat(4096);
  expect(Buffer.byteLength(burst)).toBe(64 * 1024);
  attacker.sendRaw(burst);

  // Pings one after another for the next two seconds (or for as long as the first takes).
  const rtts: number[] = [];
  const until = performance.now() + 2000;
  for (let i = 0; performance.now() < until || rtts.length < 20; i++) {
    const t0 = performance.now();
    victim.send({ type: 'ping', req: i });
    let m;
    do m = await victim.next(60_000);
    while (m.type !== 'pong');
    expect(m).toEqual({ type: 'pong', req: i });
    rtts.push(performance.now() - t0);
  }
  const after = await server.memory();
  const first = rtts[0];
  const worst = Math.max(...rtts);
  const growth = after.maxRss - before.maxRss;
  process.stdout.write(
    `list flood: ${rtts.length} pings, median ${rtts.sort((a, b) => a - b)[rtts.length >> 1].toFixed(1)} ms, ` +
      `worst ${worst.toFixed(1)} ms (first ${first.toFixed(1)}); server peak RSS ${(before.maxRss / 2 ** 20).toFixed(0)} → ${(after.maxRss / 2 ** 20).toFixed(0)} MiB\n`,
  );
  // Generous bounds for a busy machine: unbounded work per write stalls for seconds and takes gigabytes.
  expect(worst).toBeLessThan(1000);
  expect(growth).toBeLessThan(200 * 2 ** 20);
  expect(server.alive).toBe(true);
  // Everyone else is still registered.
  expect(after.clients).toBeGreaterThanOrEqual(NAMES);
});
