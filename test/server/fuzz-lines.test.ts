import fc from 'fast-check';
import { RawClient, ServerChild } from '../helpers/signaling';
import { FUZZ_TIMEOUT_MS, fuzzParameters } from '../protocol/fuzz-settings';
import { clientMessages, hostileLine } from '../protocol/signaling-arbitraries';

/**
 * Random and mutated lines, depth bombs and oversize lines fed to a real server in its own
 * process from several connections, registered or not; between batches a bystander's ping must
 * be answered and the server must still be running.
 */
jest.setTimeout(FUZZ_TIMEOUT_MS);

const CONNECTIONS = 6;
const BATCH = 100;

const line = fc.oneof(
  { weight: 20, arbitrary: hostileLine(clientMessages) },
  { weight: 1, arbitrary: fc.integer({ min: 33, max: 9000 }).map((d) => `{"type":"candidate","call":"x","candidate":${'{"a":'.repeat(d)}1${'}'.repeat(d)}}`) },
  { weight: 1, arbitrary: fc.integer({ min: 65 * 1024, max: 100 * 1024 }).map((n) => 'z'.repeat(n)) },
);

test('a server fed random and mutated lines stays up and keeps answering', async () => {
  // Budgets and deadlines out of the way, so every line is read at once.
  const server = await ServerChild.start({ limits: { requests: { perSecond: 1e9, burst: 1e9 }, registrationTimeoutMs: 3_600_000 } });
  const bystander = await RawClient.register(server.port, 'bystander');
  const conns: RawClient[] = [];
  let opened = 0;
  const fresh = async (i: number) => {
    const c = await RawClient.connect(server.port);
    // Half the connections have a name, so requests past registration are exercised too.
    if (i % 2 === 0) c.send({ type: 'hello', version: 1, name: `fuzz${opened++}` });
    return c;
  };
  for (let i = 0; i < CONNECTIONS; i++) conns.push(await fresh(i));
  const { numRuns, seed } = fuzzParameters<unknown>(3000);
  const lines = fc.sample(line, { numRuns, seed });
  try {
    for (let b = 0; b < lines.length; b += BATCH) {
      for (const [k, l] of lines.slice(b, b + BATCH).entries()) {
        const i = k % CONNECTIONS;
        // A connection cut off after too many bad lines in a row is replaced.
        if (conns[i].closed) conns[i] = await fresh(i);
        conns[i].sendRaw(l + '\n');
      }
      bystander.send({ type: 'ping', req: b });
      let m;
      do m = await bystander.next(30_000);
      while (m.type !== 'pong');
      expect(m).toEqual({ type: 'pong', req: b });
      expect(server.alive).toBe(true);
    }
  } catch (err) {
    throw new Error(`${(err as Error).message} (seed ${seed}; server log: ${server.stderr.slice(-2000)})`);
  } finally {
    for (const c of [...conns, bystander]) c.socket.destroy();
    await server.stop();
  }
  expect(server.stderr).not.toMatch(/failed handling|RangeError|TypeError/);
});
