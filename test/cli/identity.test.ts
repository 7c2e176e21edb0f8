/**
 * Identity keys and known peers through the real `parley` commands: the key file is created
 * once, private; the SAS shows on both sides' `connected` event; a peer whose key changed is
 * refused with a warning (exit 12) unless --accept-new-key, which remembers the new key.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunningServer } from '../../src';
import { EXIT } from '../../src/client/exit-codes';
import { testServer } from '../helpers/signaling';
import { run } from './helpers/parley';

const SERVER_BIN = path.join(__dirname, '../../bin/parley-server');

jest.setTimeout(60_000);

let server: RunningServer;
let dir: string;

beforeEach(async () => {
  server = await testServer({});
  dir = mkdtempSync(path.join(tmpdir(), 'parley-identity-'));
});

afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const at = () => ['--server', `127.0.0.1:${server.port}`];
const configOf = (who: string) => ({ PARLEY_CONFIG: path.join(dir, who, 'config.json') });

function connected(out: string): { sas: string; peerKey: string } {
  const line = out.split('\n').find((l) => l.includes('"event":"connected"'));
  if (!line) throw new Error(`no connected event in:\n${out}`);
  return JSON.parse(line);
}

function warning(out: string): Record<string, unknown> | undefined {
  const line = out.split('\n').find((l) => l.includes('"event":"identity_changed"'));
  return line ? JSON.parse(line) : undefined;
}

/** Bob answers one call; alice calls him for a second. */
async function oneCall(aliceFlags: string[] = []) {
  const bob = run(['answer', '--auto', '--name', 'bob', '--max-calls', '1', '--json', ...at()], { env: configOf('bob') });
  await bob.waitOut('"event":"waiting"');
  const alice = run(['call', 'bob', '--name', 'alice', '--duration', '1', '--json', ...aliceFlags, ...at()], { env: configOf('alice') });
  const code = await alice.exited;
  if (code !== EXIT.ok) bob.child.kill('SIGTERM');
  await bob.exited;
  return { code, alice, bob };
}

test('first call: keys created 0600 beside the config, the same SAS on both sides, the peer remembered', async () => {
  const { code, alice, bob } = await oneCall();
  expect(code).toBe(EXIT.ok);
  const a = connected(alice.out());
  const b = connected(bob.out());
  expect(a.sas).toMatch(/^[a-z0-9]{5}$/);
  expect(a.sas).toBe(b.sas);
  const keyFile = path.join(dir, 'alice', 'identity.key');
  expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  expect(readFileSync(keyFile, 'utf8')).toMatch(/BEGIN PRIVATE KEY/);
  const known = JSON.parse(readFileSync(path.join(dir, 'alice', 'known_peers.json'), 'utf8'));
  expect(Object.keys(known)).toEqual(['bob']);
  expect(a.peerKey).toMatch(/^SHA256:/);
});

test('without --json the warning is a readable line on stderr, before the refusal', async () => {
  expect((await oneCall()).code).toBe(EXIT.ok);
  rmSync(path.join(dir, 'bob', 'identity.key'));
  const bob = run(['answer', '--auto', '--name', 'bob', '--max-calls', '1', ...at()], { env: configOf('bob') });
  await bob.waitErr('waiting for calls');
  const alice = run(['call', 'bob', '--name', 'alice', '--duration', '1', ...at()], { env: configOf('alice') });
  expect(await alice.exited).toBe(EXIT.identity);
  bob.child.kill('SIGTERM');
  await bob.exited;
  expect(alice.err()).toMatch(/parley: WARNING: bob's identity key has changed! Remembered SHA256:\S+, now SHA256:\S+\..*\n.*Could not call bob: bob's identity key is not the one remembered/);
});

test('a changed key: refused with a warning and exit 12; --accept-new-key calls and remembers it', async () => {
  expect((await oneCall()).code).toBe(EXIT.ok);
  const before = JSON.parse(readFileSync(path.join(dir, 'alice', 'known_peers.json'), 'utf8')).bob.key;
  // Bob gets a new identity key.
  rmSync(path.join(dir, 'bob', 'identity.key'));

  const refused = await oneCall();
  expect(refused.code).toBe(EXIT.identity);
  expect(warning(refused.alice.out())).toMatchObject({ peer: 'bob', accepted: false, message: expect.stringMatching(/WARNING: bob's identity key has changed!.*Call refused.*--accept-new-key/) });
  expect(refused.alice.out()).toContain('"cause":"identity_changed"');
  expect(refused.alice.out()).not.toContain('"event":"connected"');
  expect(JSON.parse(readFileSync(path.join(dir, 'alice', 'known_peers.json'), 'utf8')).bob.key).toBe(before);

  const accepted = await oneCall(['--accept-new-key']);
  expect(accepted.code).toBe(EXIT.ok);
  expect(warning(accepted.alice.out())).toMatchObject({ accepted: true, message: expect.stringMatching(/WARNING: bob's identity key has changed!.*Taking the new key/) });
  expect(connected(accepted.alice.out()).sas).toBe(connected(accepted.bob.out()).sas);
  expect(JSON.parse(readFileSync(path.join(dir, 'alice', 'known_peers.json'), 'utf8')).bob.key).not.toBe(before);
});

test('parley-server --names claim: a name stays with the identity key that first registered it', async () => {
  const srv = run(['--host', '127.0.0.1', '--port', '0', '--names', 'claim', '--log-level', 'warn'], { bin: SERVER_BIN });
  try {
    const port = Number(/listening on TCP port (\d+)/.exec(await srv.waitOut(/listening on TCP port \d+/))![1]);
    const users = (who: string) => run(['users', '--name', 'bob', '--server', `127.0.0.1:${port}`], { env: configOf(who) });
    // `users` registers a name only to ask; it proves no identity, so it claims nothing.
    const first = run(['answer', '--auto', '--name', 'bob', '--max-calls', '1', '--server', `127.0.0.1:${port}`], { env: configOf('bob') });
    await first.waitErr('waiting for calls as bob');
    first.child.kill('SIGTERM');
    await first.exited;
    const mallory = run(['answer', '--auto', '--name', 'bob', '--max-calls', '1', '--server', `127.0.0.1:${port}`], { env: configOf('mallory') });
    expect(await mallory.exited).toBe(EXIT.nameRejected);
    expect(mallory.err()).toMatch(/The name "bob" is claimed on this server by another identity key/);
    const unproven = users('nobody');
    expect(await unproven.exited).toBe(EXIT.nameRejected);
    const again = run(['answer', '--auto', '--name', 'bob', '--max-calls', '1', '--server', `127.0.0.1:${port}`], { env: configOf('bob') });
    await again.waitErr('waiting for calls as bob');
    again.child.kill('SIGTERM');
    await again.exited;
  } finally {
    srv.child.kill('SIGTERM');
    await srv.exited;
  }
});
