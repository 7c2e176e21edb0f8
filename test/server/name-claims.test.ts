/**
 * `--names claim`: the first registration of a name with a proven identity key binds the name
 * to that key; later registrations need the same key, proven on their own connection.
 */
import { startServer, type RunningServer } from '../../src/server';
import { SignalingClient } from '../../src/client/signaling-client';
import { Identity } from '../../src/media/crypto/identity';
import { helloProof } from '../../src/protocol/name-proof';
import { waitUntil } from '../helpers/wait';

let server: RunningServer;
const clients: SignalingClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await server.close();
});

async function start(names: 'open' | 'claim'): Promise<void> {
  server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, names });
}

async function client(): Promise<SignalingClient> {
  const c = await SignalingClient.connect({ host: '127.0.0.1', port: server.port });
  clients.push(c);
  return c;
}

const prover = (id: Identity, name: string) => (nonce: string) => ({ key: id.publicKey, sig: id.sign(helloProof(nonce, name)).toString('base64url') });

async function leave(c: SignalingClient): Promise<void> {
  clients.splice(clients.indexOf(c), 1);
  await c.close();
  await waitUntil(() => server.clients === clients.filter((x) => x.welcome).length, 'the name to be freed');
}

test('claim: the first key to register a name keeps it; another key, or none, is refused with name_claimed', async () => {
  await start('claim');
  const alice = Identity.generate();
  const mallory = Identity.generate();
  const first = await client();
  await first.hello('Bob', prover(alice, 'Bob'));
  await leave(first);

  const other = await client();
  await expect(other.hello('bob', prover(mallory, 'bob'))).rejects.toMatchObject({ code: 'name_claimed' });
  await expect(other.hello('BOB')).rejects.toMatchObject({ code: 'name_claimed' });
  // The owner comes back, on the same connection that was refused: it gets the name.
  expect(await other.hello('bob', prover(alice, 'bob'))).toMatchObject({ name: 'bob' });
  // A name nobody claimed is free to anyone, with or without a key.
  const carol = await client();
  expect(await carol.hello('carol')).toMatchObject({ name: 'carol' });
});

test('claim: a proof is good for its own connection and one hello; a forged one is refused', async () => {
  await start('claim');
  const alice = Identity.generate();
  const a = await client();
  const b = await client();
  // b signs with a nonce it got, then a replays b's proof on its own connection: wrong nonce.
  let seen: { key: string; sig: string } | undefined;
  await b.hello('alice', (nonce) => (seen = prover(alice, 'alice')(nonce)));
  await leave(b);
  await expect(a.hello('alice', () => seen!)).rejects.toMatchObject({ code: 'bad_request' });
  // A signature by another key than the one shown.
  await expect(a.hello('dave', (n) => ({ key: alice.publicKey, sig: Identity.generate().sign(helloProof(n, 'dave')).toString('base64url') }))).rejects.toMatchObject({
    code: 'bad_request',
  });
  // Garbage in the fields is refused, not thrown on.
  await expect(a.hello('dave', () => ({ key: 'x'.repeat(64), sig: '!'.repeat(128) }))).rejects.toMatchObject({ code: 'bad_request' });
  expect(await a.hello('alice', prover(alice, 'alice'))).toMatchObject({ name: 'alice' });
});

test('open (the default): identities are ignored and a freed name goes to anyone', async () => {
  await start('open');
  const first = await client();
  await first.hello('bob', prover(Identity.generate(), 'bob'));
  await leave(first);
  const other = await client();
  expect(await other.hello('bob', prover(Identity.generate(), 'bob'))).toMatchObject({ name: 'bob' });
});
