/**
 * A call that only the relay can carry, on one machine: each side advertises only an address
 * where nothing listens (as in no-path.test.ts), so no direct pair can ever answer; with the
 * TURN relay parley-server offers with every call, the call connects through it, the path says
 * so, and audio flows both ways. The server's counters show the packets went through the relay.
 */
import dgram from 'node:dgram';
import { startServer, type RunningServer } from '../../src/server';
import { Phone, type ActiveCall } from '../../src/client/phone';
import type { Candidate } from '../../src/media/candidates';
import { ToneSource } from '../../src/audio/sources/tone-source';
import { dominantFrequency } from '../helpers/audio';
import { waitUntil } from '../helpers/wait';
import { RecordingSink } from './media-helpers';

let server: RunningServer;
const sockets: dgram.Socket[] = [];
const phones: Phone[] = [];

beforeAll(async () => {
  server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error' });
});
afterAll(async () => {
  await Promise.all(phones.map((p) => p.close()));
  for (const s of sockets) s.close();
  await server.close();
});

async function deadEnd(): Promise<Candidate> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  sockets.push(s);
  return { ip: '127.0.0.1', port: s.address().port, type: 'host' };
}

async function phone(name: string): Promise<Phone> {
  const advertised = await deadEnd();
  const p = await Phone.connect({ server: { host: '127.0.0.1', port: server.port }, udpHost: '127.0.0.1', candidates: () => [advertised], codecs: ['opus'] });
  phones.push(p);
  await p.register(name);
  return p;
}

test('no direct pair answers: the call goes through the server\'s relay, both ways', async () => {
  const alice = await phone('alice');
  const bob = await phone('bob');
  const heardByAlice = new RecordingSink();
  const heardByBob = new RecordingSink();
  const bobCall = new Promise<ActiveCall>((r) => bob.once('incoming', (c) => void c.accept({ input: new ToneSource(1100), output: heardByBob }).then(r)));
  const call = await alice.call('bob', { input: new ToneSource(700), output: heardByAlice }).result;
  const theirs = await bobCall;
  expect(call.path).toMatchObject({ kind: 'relay' });
  expect(theirs.path).toMatchObject({ kind: 'relay' });
  await waitUntil(() => heardByAlice.frames.length >= 100 && heardByBob.frames.length >= 100, 'two seconds played on both sides');
  expect(Math.abs(dominantFrequency(heardByAlice.samples(50), 48000, 100, 4000, 5) - 1100)).toBeLessThanOrEqual(10);
  expect(Math.abs(dominantFrequency(heardByBob.samples(50), 48000, 100, 4000, 5) - 700)).toBeLessThanOrEqual(10);
  const relayed = server.relay!;
  expect(relayed.toPeers.packets).toBeGreaterThan(100);
  expect(relayed.toClients.packets).toBeGreaterThan(100);
  const ended = new Promise((r) => theirs.once('ended', r));
  await call.hangup();
  await ended;
  // The call's allocations end with it.
  await waitUntil(() => server.relay!.allocations === 0, 'the allocations to be deleted');
}, 30_000);
