/** The scripted commands as real processes: what they print, the audio they record, their exit codes. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunningServer } from '../../src';
import { decodeWav } from '../../src/audio/wav';
import { EXIT } from '../../src/client/exit-codes';
import type { Phone } from '../../src/client/phone';
import { dominantFrequency } from '../helpers/audio';
import { RawClient, testServer } from '../helpers/signaling';
import { waitUntil } from '../helpers/wait';
import { freePort, run } from './helpers/parley';
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

test('users lists who is online, without itself, and nothing else on stdout; readable and --json', async () => {
  await callee('bob', 'ignore');
  await callee('carol', 'ignore');
  const r = run(['users', ...at()]);
  expect(await r.exited).toBe(EXIT.ok);
  // `parley users | cut -f1` gets names and nothing else: the chatter is on stderr.
  expect(r.out()).toBe('bob\tidle\ncarol\tidle\n');
  expect(r.err()).toMatch(/^registered as users-\S+ at 127\.0\.0\.1:\d+\nnote: the connection to the server is not encrypted [^\n]*\n$/);
  const j = run(['users', '--json', ...at()]);
  expect(await j.exited).toBe(EXIT.ok);
  expect(events(j.out()).at(-1)).toMatchObject({
    event: 'users',
    users: [
      { name: 'bob', status: 'idle' },
      { name: 'carol', status: 'idle' },
    ],
  });
});

describe('exit codes', () => {
  test('2: a bad command line, said in one line and a hint', async () => {
    const r = run(['--frame', '30']);
    expect(await r.exited).toBe(EXIT.usage);
    expect(r.err()).toBe(`parley: option '--frame <ms>' argument '30' is invalid. 10, 20 or 40, not "30"\nsee 'parley --help'\n`);
    expect(await run(['answer', '--name', 'x']).exited).toBe(EXIT.usage);
    const typo = run(['cal', 'bob']);
    expect(await typo.exited).toBe(EXIT.usage);
    expect(typo.err()).toBe(`parley: unknown command 'cal' (did you mean call?)\nsee 'parley --help'\n`);
    const option = run(['call', 'bob', '--duraton', '3']);
    expect(await option.exited).toBe(EXIT.usage);
    expect(option.err()).toBe(`parley: unknown option '--duraton' (did you mean --duration?)\nsee 'parley call --help'\n`);
    // An option the command does not take is refused, wherever it is written.
    for (const args of [['users', '--input', 'tone'], ['--hangup-key', 'x', 'users']]) {
      const wrong = run(args);
      expect(await wrong.exited).toBe(EXIT.usage);
      expect(wrong.err()).toMatch(/^parley: .*(unknown option '--input'|--hangup-key does not apply to 'parley users').*\nsee 'parley users --help'\n$/);
    }
  });

  test('2: an unknown audio spec is refused before anything is sent', async () => {
    await callee('bob', 'ignore');
    const rang = new Promise((resolve) => phones[0].once('incoming', resolve));
    for (const args of [['--input', 'foo.mp3'], ['--output', 'speakers']]) {
      const r = run(['call', 'bob', ...args, ...at()]);
      expect(await r.exited).toBe(EXIT.usage);
      expect(r.err()).toMatch(new RegExp(`^parley: ${args[0]}: unknown audio (source|sink) "${args[1]}"`));
      expect(r.err()).not.toContain('registered');
    }
    expect(await Promise.race([rang, new Promise((r) => setTimeout(() => r('not rung'), 500))])).toBe('not rung');
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

  test('5: nobody of that name is online, and nothing says it rang', async () => {
    const r = run(['call', 'nobody', ...at()]);
    expect(await r.exited).toBe(EXIT.notFound);
    expect(r.err()).toContain('nobody is not online.');
    const j = run(['call', 'nobody', '--json', ...at()]);
    expect(await j.exited).toBe(EXIT.notFound);
    expect(events(j.out()).map((e) => e.event)).toEqual(['registered', 'failed']);
    expect(events(j.out())[1]).toMatchObject({ reason: 'not_found' });
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
    const carolCalls = phones[1].call('bob');
    await new Promise((resolve) => carolCalls.once('ringing', resolve)); // bob is ringing for carol
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
    await bob.waitErr('waiting for calls as bob');
    const r = run(['call', 'bob', '--codec', 'opus', ...at()]);
    expect(await r.exited).toBe(EXIT.incompatible);
    expect(r.err()).toContain('no codec in common');
    bob.child.kill('SIGTERM');
    expect(await bob.exited).toBe(EXIT.ok);
  });

  test('1: local audio that cannot start fails before the other side is rung', async () => {
    await callee('bob', 'ignore');
    let rang = 0;
    phones[0].on('incoming', () => rang++);
    const missingInput = run(['call', 'bob', '--input', path.join(dir, 'nothere.wav'), ...at()]);
    expect(await missingInput.exited).toBe(EXIT.failed);
    expect(missingInput.err()).toMatch(/parley: Could not call bob: your microphone \(audio input\) failed: .*nothere\.wav/);
    const missingFolder = run(['call', 'bob', '--output', path.join(dir, 'no-such-dir', 'x.wav'), '--json', ...at()]);
    expect(await missingFolder.exited).toBe(EXIT.failed);
    expect(events(missingFolder.out()).map((e) => e.event)).toEqual(['registered', 'failed']);
    expect(events(missingFolder.out())[1]).toMatchObject({ reason: 'failed', cause: 'output_device' });
    expect(rang).toBe(0);
  });

  test('1: answer --auto checks its files before it waits for calls', async () => {
    const r = run(['answer', '--auto', '--name', 'bob', '--output', path.join(dir, 'no-such-dir', 'x.wav'), ...at()]);
    expect(await r.exited).toBe(EXIT.failed);
    expect(r.err()).toMatch(/^parley: Your speaker \(audio output\) failed: cannot write WAV file .*x\.wav: .*\n$/);
  });

  test('1: a callee whose audio cannot start refuses with a coded reason both sides read', async () => {
    // The folder is there when bob starts waiting and gone when the call comes.
    const folder = path.join(dir, 'recordings');
    mkdirSync(folder);
    const bob = run(['answer', '--auto', '--name', 'bob', '--max-calls', '1', '--output', path.join(folder, 'x.wav'), ...at()]);
    await bob.waitErr('waiting for calls as bob');
    rmSync(folder, { recursive: true });
    const r = run(['call', 'bob', '--name', 'alice', '--json', ...at()]);
    expect(await r.exited).toBe(EXIT.failed);
    expect(events(r.out()).at(-1)).toMatchObject({ event: 'failed', reason: 'failed', cause: 'output_device' });
    expect(events(r.out()).at(-1)!.message).toBe("bob could not take the call: bob's speaker (audio output) failed.");
    // With --max-calls, answer exits as its last call went.
    expect(await bob.exited).toBe(EXIT.failed);
    // One readable line, not a multi-line dump.
    const said = bob.err().split('\n').filter((l) => l.startsWith('parley:'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^parley: Could not answer alice: your speaker \(audio output\) failed: .*x\.wav/);
  });

  test('10: the server goes away while answering, and does not come back within --reconnect', async () => {
    const r = run(['answer', '--auto', '--name', 'bob', '--reconnect', '0.5', ...at()]);
    await r.waitErr('waiting for calls as bob');
    await server.close();
    expect(await r.exited).toBe(EXIT.connectionLost);
    expect(r.err()).toContain('lost the server');
    server = await testServer();
  });
});

test('closing standard input ends the interactive client cleanly and frees its name', async () => {
  const r = run(['--name', 'carol', '--input', 'tone', '--output', 'null', ...at()], { stdin: 'pipe' });
  await r.waitOut('Registered as carol.');
  r.child.stdin!.end();
  expect(await r.exited).toBe(EXIT.ok);
  // stderr is no terminal here: the note that signaling is plaintext goes there, and nothing else.
  expect(r.err()).toMatch(/^parley: note: the connection to the server is not encrypted [^\n]*\n$/);
  await waitUntil(async () => {
    const c = await RawClient.connect(server.port);
    c.send({ type: 'hello', version: 1, name: 'carol' });
    const reply = await c.next();
    await c.close();
    return reply.type === 'welcome';
  }, 'carol is freed');
});

test('SIGTERM during a scripted call hangs up and exits 0', async () => {
  const bob = run(['answer', '--auto', '--name', 'bob', '--max-calls', '1', '--json', ...at()]);
  await bob.waitOut('"event":"waiting"');
  const r = run(['call', 'bob', ...at()]);
  await r.waitErr('connected to bob');
  r.child.kill('SIGTERM');
  expect(await r.exited).toBe(EXIT.ok);
  expect(await bob.exited).toBe(EXIT.ok);
  expect(events(bob.out()).at(-1)).toMatchObject({ event: 'ended', reason: 'hangup', by: 'peer' });
});

test('IPv6: a server on ::1 is reached with --server [::1]:PORT, and calls connect through it', async () => {
  const v6 = await testServer({ host: '::1' });
  try {
    const at6 = ['--server', `[::1]:${v6.port}`];
    const bob = run(['answer', '--auto', '--name', 'bob', '--max-calls', '1', ...at6]);
    await bob.waitErr('waiting for calls as bob');
    expect(bob.err()).toContain(`registered as bob at [::1]:${v6.port}`);
    const r = run(['call', 'bob', '--duration', '1', '--json', ...at6]);
    expect(await r.exited).toBe(EXIT.ok);
    expect(events(r.out()).find((e) => e.event === 'ended')).toMatchObject({ reason: 'hangup', by: 'me' });
    expect(await bob.exited).toBe(EXIT.ok);
  } finally {
    await v6.close();
  }
});
