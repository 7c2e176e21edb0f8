/**
 * Calls outlive the server: killed mid-call (SIGKILL or SIGTERM), the audio goes on both ways,
 * both clients register again under their names when it is back, and a hang-up while it is down
 * still ends the call on both sides (over the media path).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { decodeWav } from '../../src/audio/wav';
import { EXIT } from '../../src/client/exit-codes';
import { dominantFrequency, rms } from '../helpers/audio';
import { RawClient } from '../helpers/signaling';
import { freePort, run, serverProcess, type Run } from './helpers/parley';

jest.setTimeout(60_000);

let dir: string;
let servers: ChildProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'parley-restart-'));
});
afterEach(() => {
  for (const s of servers) s.kill('SIGKILL');
  servers = [];
  rmSync(dir, { recursive: true, force: true });
});

async function startServer(port: number): Promise<ChildProcess> {
  const s = await serverProcess(port);
  servers.push(s.child);
  return s.child;
}

function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  return exited;
}

function events(r: Run): { event: string; [k: string]: unknown }[] {
  return r
    .out()
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** Seconds of a recording from `fromS` to `toS` from its end (negative) or start. */
function slice(file: string, fromS: number, toS: number): Float32Array {
  const samples = decodeWav(readFileSync(file)).samples;
  const at = (s: number) => Math.max(0, Math.round((s < 0 ? samples.length / 48000 + s : s) * 48000));
  return samples.subarray(at(fromS), at(toS));
}

function expectTone(samples: Float32Array, hz: number): void {
  expect(samples.length).toBeGreaterThan(48000);
  expect(Math.abs(dominantFrequency(samples, 48000, 200, 1000) - hz)).toBeLessThanOrEqual(10);
  expect(rms(samples)).toBeGreaterThan(1000);
}

const quiet = ['--stun', 'off', '--relay', 'off', '--json'];

describe.each<NodeJS.Signals>(['SIGKILL', 'SIGTERM'])('the server killed mid-call with %s', (signal) => {
  test('audio keeps flowing both ways to the end; after a restart on the same port both register again under their names', async () => {
    const port = await freePort();
    const server = await startServer(port);
    const at = ['--server', `127.0.0.1:${port}`];
    const bobWav = path.join(dir, 'bob.wav');
    const aliceWav = path.join(dir, 'alice.wav');
    const bob = run(['answer', '--auto', '--name', 'bob', '--max-calls', '1', '--input', 'tone:660', '--output', bobWav, ...quiet, ...at]);
    await bob.waitOut('"event":"waiting"');
    const alice = run(['call', 'bob', '--name', 'alice', '--duration', '7', '--input', 'tone:440', '--output', aliceWav, ...quiet, ...at]);
    await alice.waitOut('"event":"connected"');
    await bob.waitOut('"event":"connected"');
    await kill(server, signal);
    await alice.waitOut('"event":"server_reconnecting"');
    await bob.waitOut('"event":"server_reconnecting"');
    await startServer(port);
    await alice.waitOut('"event":"server_reconnected"');
    await bob.waitOut('"event":"server_reconnected"');
    // The new server knows them by their names (and nothing of their call).
    const probe = await RawClient.register(port, 'probe');
    for (const name of ['alice', 'bob']) {
      probe.send({ type: 'lookup', name, req: name });
      expect(await probe.next()).toMatchObject({ type: 'user', name });
    }
    probe.socket.destroy();
    expect(await alice.exited).toBe(EXIT.ok);
    expect(await bob.exited).toBe(EXIT.ok);
    for (const r of [alice, bob]) {
      expect(events(r).find((e) => e.event === 'server_reconnected')).toMatchObject({ resumed: false });
      expect(events(r).find((e) => e.event === 'ended')).toMatchObject({ reason: 'hangup' });
    }
    // The last 3 s of each recording came after the kill: the other side's tone, unbroken.
    expectTone(slice(aliceWav, -3.5, -0.5), 660);
    expectTone(slice(bobWav, -3.5, -0.5), 440);
  });
});

test('hanging up while the server is down ends the call on both sides, as a normal hang-up', async () => {
  const port = await freePort();
  const server = await startServer(port);
  const at = ['--server', `127.0.0.1:${port}`];
  const bob = run(['answer', '--auto', '--name', 'bob', '--max-calls', '1', ...quiet, ...at]);
  await bob.waitOut('"event":"waiting"');
  const alice = run(['call', 'bob', '--name', 'alice', ...quiet, ...at]);
  await alice.waitOut('"event":"connected"');
  await bob.waitOut('"event":"connected"');
  await kill(server, 'SIGKILL');
  await bob.waitOut('"event":"server_reconnecting"');
  await alice.waitOut('"event":"server_reconnecting"');
  alice.child.kill('SIGTERM');
  expect(await alice.exited).toBe(EXIT.ok);
  expect(await bob.exited).toBe(EXIT.ok);
  expect(events(bob).find((e) => e.event === 'ended')).toMatchObject({ peer: 'alice', reason: 'hangup', by: 'peer' });
});
