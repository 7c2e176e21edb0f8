/** The scripted commands as real processes: what they print, the audio they record, their exit codes. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunningServer } from '../../src';
import { decodeWav } from '../../src/audio/wav';
import { EXIT } from '../../src/client/exit-codes';
import type { Phone } from '../../src/client/phone';
import { dominantFrequency } from '../helpers/audio';
import { RawClient, testServer } from '../helpers/signaling';
import { eventually, freePort, run } from './helpers/parley';
import { peer, type Behaviour } from './helpers/peers';

jest.setTimeout(45_000);

let server: RunningServer;
let dir: string;
const phones: Phone[] = [];

beforeEach(async () => {
  server = await testServer({ ringTimeoutMs: 1500 });
  dir = mkdtempSync(path.join(tmpdir(), 'parley-cli-'));
});

afterEach(async () => {
  await Promise.all(phones.splice(0).map((p) => p.close().catch(() => undefined)));
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const at = () => ['--server', `127.0.0.1:${server.port}`];

async function callee(name: string, behaviour: Behaviour): Promise<void> {
  phones.push(await peer(server.port, name, behaviour));
}

function events(out: string): { event: string; [k: string]: unknown }[] {
  return out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

test('answer --auto and call --duration 2: each side records the other one\'s tone; both exit 0', async () => {
  const bobWav = path.join(dir, 'bob.wav');
  const aliceWav = path.join(dir, 'alice.wav');
  const bob = run(['answer', '--auto', '--name', 'bob', '--max-calls', '1', '--input', 'tone:660', '--output', bobWav, '--json', ...at()]);
  await bob.waitOut('"event":"waiting"');
  const alice = run(['call', 'bob', '--name', 'alice', '--duration', '2', '--input', 'tone:440', '--output', aliceWav, '--json', ...at()]);
  expect(await alice.exited).toBe(EXIT.ok);
  expect(await bob.exited).toBe(EXIT.ok);
  expect(alice.err()).toBe('');
  expect(bob.err()).toBe('');

  const said = events(alice.out());
  expect(said.map((e) => e.event)).toEqual(expect.arrayContaining(['registered', 'ringing', 'connected', 'stats', 'ended']));
  const ended = said.find((e) => e.event === 'ended')!;
  expect(ended).toMatchObject({ peer: 'bob', reason: 'hangup', by: 'me' });
  expect(ended.seconds).toBeGreaterThanOrEqual(1.9);
  expect((ended.stats as { received: number }).received).toBeGreaterThan(50);
  expect(events(bob.out()).map((e) => e.event).slice(0, 4)).toEqual(['registered', 'waiting', 'incoming', 'connected']);

  const heard = (file: string) => decodeWav(readFileSync(file)).samples;
  const aliceHeard = heard(aliceWav);
  const bobHeard = heard(bobWav);
  expect(aliceHeard.length).toBeGreaterThan(48000);
  expect(bobHeard.length).toBeGreaterThan(48000);
  // Skip the first half second: the link comes up and the jitter buffer fills.
  expect(Math.abs(dominantFrequency(bobHeard.subarray(24000), 48000, 200, 1000) - 440)).toBeLessThanOrEqual(10);
  expect(Math.abs(dominantFrequency(aliceHeard.subarray(24000), 48000, 200, 1000) - 660)).toBeLessThanOrEqual(10);
});

test('users lists who is online, without itself; readable and --json', async () => {
  await callee('bob', 'ignore');
  const r = run(['users', ...at()]);
  expect(await r.exited).toBe(EXIT.ok);
  expect(r.out()).toMatch(/^bob\tidle$/m);
  expect(r.out()).not.toMatch(/^users-\S*\t/m);
  const j = run(['users', '--json', ...at()]);
  expect(await j.exited).toBe(EXIT.ok);
  expect(events(j.out()).at(-1)).toMatchObject({ event: 'users', users: [{ name: 'bob', status: 'idle' }] });
});

describe('exit codes', () => {
  test('2: a bad command line', async () => {
    const r = run(['--frame', '30']);
    expect(await r.exited).toBe(EXIT.usage);
    expect(r.err()).toContain('--frame: 10, 20 or 40, not 30');
    expect(r.err()).toContain('usage:');
    expect(await run(['answer', '--name', 'x']).exited).toBe(EXIT.usage);
    expect(await run(['dance']).exited).toBe(EXIT.usage);
  });

  test('3: the server cannot be reached', async () => {
    const port = await freePort();
    const r = run(['users', '--server', `127.0.0.1:${port}`]);
    expect(await r.exited).toBe(EXIT.unreachable);
    expect(r.err()).toContain(`cannot reach the parley server at 127.0.0.1:${port}: connection refused`);
  });

  test('4: the name is taken', async () => {
    await callee('bob', 'ignore');
    const r = run(['users', '--name', 'BOB', ...at()]);
    expect(await r.exited).toBe(EXIT.nameRejected);
    expect(r.err()).toContain('The name "BOB" is taken');
  });

  test('5: nobody of that name is online', async () => {
    const r = run(['call', 'nobody', ...at()]);
    expect(await r.exited).toBe(EXIT.notFound);
    expect(r.err()).toContain('nobody is not online.');
  });

  test('6: declined', async () => {
    await callee('bob', 'decline');
    const r = run(['call', 'bob', ...at()]);
    expect(await r.exited).toBe(EXIT.declined);
    expect(r.err()).toContain('bob declined the call.');
  });

  test('7: busy', async () => {
    await callee('bob', 'ignore');
    await callee('carol', 'ignore');
    phones[1].call('bob'); // bob is ringing for carol
    const r = run(['call', 'bob', ...at()]);
    expect(await r.exited).toBe(EXIT.busy);
    expect(r.err()).toContain('bob is busy');
  });

  test('8: nobody answers before the ring timeout', async () => {
    await callee('bob', 'ignore');
    const r = run(['call', 'bob', '--json', ...at()]);
    expect(await r.exited).toBe(EXIT.noAnswer);
    expect(events(r.out()).at(-1)).toMatchObject({ event: 'failed', reason: 'timeout' });
  });

  test('9: no codec in common', async () => {
    const bob = run(['answer', '--auto', '--name', 'bob', '--codec', 'pcm', ...at()]);
    await bob.waitOut('waiting for calls as bob');
    const r = run(['call', 'bob', '--codec', 'opus', ...at()]);
    expect(await r.exited).toBe(EXIT.incompatible);
    expect(r.err()).toContain('no codec in common');
    bob.child.kill('SIGTERM');
    expect(await bob.exited).toBe(EXIT.ok);
  });

  test('1: audio that cannot start (a recording into a missing folder)', async () => {
    const bob = run(['answer', '--auto', '--name', 'bob', '--max-calls', '1', ...at()]);
    await bob.waitOut('waiting for calls as bob');
    const r = run(['call', 'bob', '--output', path.join(dir, 'no-such-dir', 'x.wav'), ...at()]);
    expect(await r.exited).toBe(EXIT.failed);
    expect(r.err()).toContain('Audio could not start');
    expect(await bob.exited).toBe(EXIT.ok);
  });

  test('10: the server goes away while answering', async () => {
    const r = run(['answer', '--auto', '--name', 'bob', ...at()]);
    await r.waitOut('waiting for calls as bob');
    await server.close();
    expect(await r.exited).toBe(EXIT.connectionLost);
    expect(r.err()).toContain('lost the server');
    server = await testServer();
  });
});

test('closing standard input ends the interactive client cleanly and frees its name', async () => {
  const r = run(['--name', 'carol', '--output', 'null', ...at()], { stdin: 'pipe' });
  await r.waitOut('Registered as carol.');
  r.child.stdin!.end();
  expect(await r.exited).toBe(EXIT.ok);
  expect(r.err()).toBe('');
  await eventually(async () => {
    const c = await RawClient.connect(server.port);
    c.send({ type: 'hello', version: 1, name: 'carol' });
    const reply = await c.next();
    await c.close();
    return reply.type === 'welcome';
  }, 'carol freed');
});

test('SIGTERM during a scripted call hangs up and exits 0', async () => {
  const bob = run(['answer', '--auto', '--name', 'bob', '--max-calls', '1', '--json', ...at()]);
  await bob.waitOut('"event":"waiting"');
  const r = run(['call', 'bob', ...at()]);
  await r.waitOut('connected to bob');
  r.child.kill('SIGTERM');
  expect(await r.exited).toBe(EXIT.ok);
  expect(await bob.exited).toBe(EXIT.ok);
  expect(events(bob.out()).at(-1)).toMatchObject({ event: 'ended', reason: 'hangup', by: 'peer' });
});
