/**
 * Honest call state on one machine: a call is "connected" only once a candidate pair has
 * answered both ways. Here each side advertises only an address where nothing listens, so no
 * check can ever be answered: the callee accepted, yet neither side may say "connected", and
 * both end with failed/no_path. (Before, both showed a live call that carried nothing.)
 */
import dgram from 'node:dgram';
import { startServer, type RunningServer } from '../../src/server';
import { CallFailedError, Phone, type PhoneState } from '../../src/client/phone';
import type { Candidate } from '../../src/media/candidates';

let server: RunningServer;
const phones: Phone[] = [];
let deadEnds: dgram.Socket[] = [];

beforeAll(async () => {
  server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error' });
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  await Promise.all(phones.splice(0).map((p) => p.close()));
  for (const s of deadEnds) s.close();
  deadEnds = [];
});

/** A loopback port that swallows whatever is sent to it. */
async function deadEnd(): Promise<Candidate> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  deadEnds.push(s);
  return { ip: '127.0.0.1', port: s.address().port, type: 'host' };
}

async function phone(name: string, advertised: Candidate): Promise<{ phone: Phone; statuses: PhoneState['status'][] }> {
  // No relay either: the server's would carry the call (a relayed call is tested in test/net).
  const p = await Phone.connect({ server: { host: '127.0.0.1', port: server.port }, udpHost: '127.0.0.1', candidates: () => [advertised], relay: 'off' });
  phones.push(p);
  await p.register(name);
  const statuses: PhoneState['status'][] = [];
  p.on('stateChange', (_old, next) => statuses.push(next.status));
  return { phone: p, statuses };
}

test('no pair answers: both sides end with failed/no_path and were never connected', async () => {
  const alice = await phone('alice', await deadEnd());
  const bob = await phone('bob', await deadEnd());
  const bobGot = new Promise<unknown>((resolve) =>
    bob.phone.once('incoming', (c) => void c.accept({ input: 'silence', output: 'null' }).then(resolve, resolve)),
  );
  const aliceGot = await alice.phone.call('bob', { input: 'silence', output: 'null' }).result.catch((e: unknown) => e);
  const bobResult = await bobGot;
  for (const got of [aliceGot, bobResult]) {
    expect(got).toBeInstanceOf(CallFailedError);
    expect((got as CallFailedError).end).toMatchObject({ reason: 'failed', cause: 'no_path' });
  }
  expect(alice.statuses).toContain('connecting');
  expect(bob.statuses).toContain('connecting');
  expect(alice.statuses).not.toContain('active');
  expect(bob.statuses).not.toContain('active');
  expect(alice.phone.status).toBe('idle');
  expect(bob.phone.status).toBe('idle');
}, 30_000);
