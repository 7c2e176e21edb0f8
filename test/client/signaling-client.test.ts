import net from 'node:net';
import { ConnectError, SignalingClient, SignalingError, type RunningServer } from '../../src';
import { testServer } from '../helpers/signaling';

let server: RunningServer;
const open: SignalingClient[] = [];
async function client(): Promise<SignalingClient> {
  const c = await SignalingClient.connect({ host: '127.0.0.1', port: server.port });
  open.push(c);
  return c;
}

beforeEach(async () => {
  server = await testServer({ ringTimeoutMs: 2000 });
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  await server.close();
});

test('register, list, lookup, and a whole call through typed requests and events', async () => {
  const alice = await client();
  const bob = await client();
  expect(await alice.hello('alice')).toMatchObject({ name: 'alice', udpPort: server.udpPort });
  await bob.hello('bob');
  expect(await alice.list()).toEqual([
    { name: 'alice', status: 'idle' },
    { name: 'bob', status: 'idle' },
  ]);
  expect(await alice.lookup('BOB')).toEqual({ name: 'bob', status: 'idle' });
  const incoming = new Promise<{ call: string; offer: unknown }>((r) => bob.once('incoming', r));
  const ringing = await alice.call('bob', { codecs: ['pcm'] });
  expect(await incoming).toMatchObject({ call: ringing.call, from: 'alice', offer: { codecs: ['pcm'] } });
  const accepted = new Promise((r) => alice.once('accepted', r));
  await bob.answer(ringing.call, { accept: true, answer: { codec: 'pcm' } });
  expect(await accepted).toEqual({ type: 'accepted', call: ringing.call, answer: { codec: 'pcm' } });
  const ended = new Promise((r) => bob.once('ended', r));
  await alice.hangup(ringing.call);
  expect(await ended).toEqual({ type: 'ended', call: ringing.call, by: 'alice', reason: 'hangup' });
  expect(await alice.ping()).toBeGreaterThanOrEqual(0);
});

test('error replies reject with SignalingError carrying the code', async () => {
  const a = await client();
  await a.hello('taken');
  const b = await client();
  await expect(b.hello('TAKEN')).rejects.toMatchObject({ name: 'SignalingError', code: 'name_taken' });
  await expect(b.hello('bad name')).rejects.toMatchObject({ code: 'bad_name' });
  await b.hello('b');
  await expect(b.lookup('ghost')).rejects.toBeInstanceOf(SignalingError);
  await expect(b.call('ghost', {})).rejects.toMatchObject({ code: 'not_found' });
});

test('an unreachable server → ConnectError naming the address and the cause', async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const err = await SignalingClient.connect({ host: '127.0.0.1', port }).catch((e) => e);
  expect(err).toBeInstanceOf(ConnectError);
  expect(err.message).toBe(`cannot reach the parley server at 127.0.0.1:${port}: connection refused (is parley-server running there?)`);
});

test("the server going away emits close with the server's last word, and pending requests reject", async () => {
  const a = await client();
  await a.hello('a');
  const closed = new Promise<{ error?: { code: string }; reason: string }>((r) => a.once('close', r));
  await server.close();
  const ev = await closed;
  expect(ev.error?.code).toBe('server_shutdown');
  expect(ev.reason).toBe('the server is shutting down');
  expect(a.isOpen).toBe(false);
  await expect(a.list()).rejects.toMatchObject({ code: 'disconnected' });
});

test('the ring timeout reaches both parties as ended/timeout', async () => {
  await server.close();
  server = await testServer({ ringTimeoutMs: 200 });
  const a = await client();
  const b = await client();
  await a.hello('a');
  await b.hello('b');
  const endedA = new Promise((r) => a.once('ended', r));
  const endedB = new Promise((r) => b.once('ended', r));
  const { call } = await a.call('b', {});
  expect(await endedA).toEqual({ type: 'ended', call, reason: 'timeout' });
  expect(await endedB).toEqual({ type: 'ended', call, reason: 'timeout' });
});

test('a reply and the next message in one packet: the reply is acted on before the next message is handled', async () => {
  // A server that answers `call` with ringing and rejected in the same write.
  const fake = net.createServer((sock) => {
    sock.on('data', (d) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        const m = JSON.parse(line);
        if (m.type === 'call') {
          sock.write(
            JSON.stringify({ type: 'ringing', req: m.req, call: 'c1', to: 'bob' }) +
              '\n' +
              JSON.stringify({ type: 'rejected', call: 'c1', reason: 'incompatible' }) +
              '\n' +
              JSON.stringify({ type: 'error', code: 'server_shutdown', message: 'bye' }) +
              '\n',
          );
          sock.end();
        }
      }
    });
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
  try {
    const c = await SignalingClient.connect({ host: '127.0.0.1', port: (fake.address() as net.AddressInfo).port });
    const closed = new Promise<{ reason: string }>((r) => c.once('close', r));
    const { call } = await c.call('bob', {});
    // Only now, after the await, does the caller know the id and listen for it.
    const rejected = await new Promise((r) => c.once('rejected', r));
    expect(rejected).toEqual({ type: 'rejected', call, reason: 'incompatible' });
    expect((await closed).reason).toBe('bye');
  } finally {
    fake.close();
  }
});
