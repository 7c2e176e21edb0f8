/**
 * Calls across NATs, for real: parley-server on a "public" namespace, alice and bob each in
 * their own namespace, behind their own nftables NAT router or on a public address (see
 * lab.ts). The clients are the built `parley` run scripted inside the namespaces. Each case
 * checks audio both ways (what each side recorded against the tone the other sent), the path
 * the JSON events name, and the exit codes. Needs root, `ip`, `nft` and `conntrack`; skips
 * with the reason otherwise.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeWav, encodeWav, signals } from '../../src/audio';
import { bestLag, dominantFrequency } from '../helpers/audio';
import { coturnMissing } from '../helpers/coturn';
import { COTURN_PORT, Lab, labUnavailable, SERVER_IP, type Access, type Proc } from './lab';

const unavailable = labUnavailable();
const describeLab = unavailable ? describe.skip : describe;
if (unavailable) process.stderr.write(`test/net skipped: ${unavailable}\n`);

const RATE = 48000;
const TONES = { alice: 440, bob: 660 } as const;
let dir: string;
let lab: Lab | undefined;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'parley-nat-'));
});
afterEach(() => {
  lab?.close();
  lab = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Event = { event: string; t: number; [k: string]: unknown };

function events(out: string): Event[] {
  return out
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Event);
}

function find(out: string, name: string): Event {
  const e = events(out).find((x) => x.event === name);
  if (!e) throw new Error(`no "${name}" event in:\n${out}`);
  return e;
}

/** The path the call ended on: the last `path` event, or the one it connected on. */
function finalPath(out: string): unknown {
  return events(out).filter((e) => e.event === 'connected' || e.event === 'path').at(-1)?.path;
}

/** A tone for `who` to send, long enough for the whole call. */
function toneFile(who: 'alice' | 'bob', seconds: number): string {
  const file = path.join(dir, `${who}-in-${seconds}.wav`);
  writeFileSync(file, encodeWav(signals.tone(TONES[who], seconds * 1000, 0.4)));
  return file;
}

/**
 * That `file` holds the tone `from` sent between `fromS` and `toS` seconds: its dominant
 * frequency, and most of its 100 ms stretches correlated with the sent tone at the best lag (a
 * busy machine may conceal a frame here and there).
 */
function expectHeard(file: string, from: 'alice' | 'bob', fromS: number, toS: number): void {
  const heard = decodeWav(readFileSync(file)).samples.subarray(Math.round(fromS * RATE), Math.round(toS * RATE));
  expect(heard.length).toBeGreaterThan(0.5 * RATE);
  expect(Math.abs(dominantFrequency(heard, RATE, 200, 1000) - TONES[from])).toBeLessThanOrEqual(10);
  const sent = signals.tone(TONES[from], 200, 0.4);
  const stretch = 0.1 * RATE;
  const scores: number[] = [];
  for (let at = 0; at + stretch <= heard.length; at += stretch) {
    scores.push(bestLag(heard.subarray(at, at + stretch), sent, Math.ceil(RATE / TONES[from])).correlation);
  }
  expect(scores.filter((c) => c > 0.9).length).toBeGreaterThanOrEqual(0.7 * scores.length);
}

/** Runs `check`; a failure carries both sides' events (without the per-second stats) to read. */
function explained(runs: Proc[], check: () => void): void {
  try {
    check();
  } catch (err) {
    const timeline = runs.map((run) => run.out().split('\n').filter((l) => !l.includes('"event":"stats"')).join('\n'));
    (err as Error).message += `\n\nalice:\n${timeline[0]}\n\nbob:\n${timeline[1]}`;
    throw err;
  }
}

interface CallSetup {
  /** Runs while the call goes on. */
  during?: (l: Lab, runs: { alice: Proc; bob: Proc }) => Promise<void>;
  /** Relay through a coturn sharing this secret with the parley server, instead of the server's own. */
  coturnSecret?: string;
}

/** Sets up the lab, bob answering, alice calling for `seconds`; resolves with both runs. */
async function call(access: Record<'alice' | 'bob', Access>, seconds: number, { during, coturnSecret }: CallSetup = {}) {
  lab = Lab.create(access);
  if (coturnSecret) await lab.startCoturn(coturnSecret);
  await lab.startServer(coturnSecret ? ['--turn-url', `turn:${SERVER_IP}:${COTURN_PORT}`, '--turn-secret', coturnSecret] : []);
  const out = { alice: path.join(dir, `alice-out-${access.alice}-${access.bob}.wav`), bob: path.join(dir, `bob-out-${access.alice}-${access.bob}.wav`) };
  const bob = lab.parley('bob', ['answer', '--auto', '--name', 'bob', '--max-calls', '1', '--input', toneFile('bob', seconds + 10), '--output', out.bob, '--json']);
  await bob.waitOut(/"event":"waiting"/);
  const alice = lab.parley('alice', ['call', 'bob', '--name', 'alice', '--duration', String(seconds), '--input', toneFile('alice', seconds + 10), '--output', out.alice, '--json']);
  if (during) await during(lab, { alice, bob });
  const [aliceExit, bobExit] = await Promise.all([alice.exited, bob.exited]);
  return { alice, bob, aliceExit, bobExit, out };
}

/** Milliseconds from bob starting to answer to both sides having a path (the clocks are each process's own). */
function answerToAudio(bobOut: string): number {
  return find(bobOut, 'connected').t - find(bobOut, 'incoming').t;
}

const figures: string[] = [];
afterAll(() => {
  if (figures.length) process.stdout.write(`NAT calls: ${figures.join('; ')}\n`);
});

describeLab('calls through NATs in network namespaces', () => {
  test('NAT on one side only: the call goes direct on a reflexive path, audio both ways', async () => {
    const r = await call({ alice: 'nat', bob: 'public' }, 4);
    expect([r.aliceExit, r.bobExit]).toEqual([0, 0]);
    // Alice is seen at her NAT's mapping, bob at his own address.
    expect(finalPath(r.alice.out())).toMatchObject({ kind: 'reflexive', local: { type: 'srflx', ip: '198.51.100.2' }, remote: { type: 'host', ip: '203.0.113.2' } });
    expect(finalPath(r.bob.out())).toMatchObject({ kind: 'reflexive', local: { type: 'host', ip: '203.0.113.2' }, remote: { ip: '198.51.100.2' } });
    expectHeard(r.out.bob, 'alice', 1, 3.5);
    expectHeard(r.out.alice, 'bob', 1, 3.5);
    figures.push(`one NAT: answer → connected ${answerToAudio(r.bob.out())} ms`);
  }, 90_000);

  test('both behind port-restricted NATs: the checks open both, the call connects direct', async () => {
    const r = await call({ alice: 'nat', bob: 'nat' }, 4);
    expect([r.aliceExit, r.bobExit]).toEqual([0, 0]);
    for (const run of [r.alice, r.bob]) {
      expect(finalPath(run.out())).toMatchObject({ kind: 'reflexive', remote: { ip: run === r.alice ? '203.0.113.2' : '198.51.100.2' } });
      expect((find(run.out(), 'ended').stats as { received: number }).received).toBeGreaterThan(100);
    }
    expectHeard(r.out.bob, 'alice', 1, 3.5);
    expectHeard(r.out.alice, 'bob', 1, 3.5);
    figures.push(`both NATs: answer → connected ${answerToAudio(r.bob.out())} ms`);
  }, 90_000);

  test('both behind symmetric NATs: nothing direct opens, the call goes through the relay in parley-server', async () => {
    const r = await call({ alice: 'nat-symmetric', bob: 'nat-symmetric' }, 4);
    explained([r.alice, r.bob], () => expect([r.aliceExit, r.bobExit]).toEqual([0, 0]));
    for (const run of [r.alice, r.bob]) {
      explained([r.alice, r.bob], () => expect(finalPath(run.out())).toMatchObject({ kind: 'relay' }));
      expect((find(run.out(), 'ended').stats as { received: number }).received).toBeGreaterThan(100);
    }
    // One side sends from its relayed address on the server's host, or to the other's.
    const ends = [r.alice, r.bob].flatMap((run) => {
      const p = finalPath(run.out()) as { local: { type: string; ip: string }; remote: { type: string; ip: string } };
      return [p.local, p.remote].filter((e) => e.type === 'relay').map((e) => e.ip);
    });
    expect(ends.length).toBeGreaterThan(0);
    expect(new Set(ends)).toEqual(new Set([SERVER_IP]));
    expectHeard(r.out.bob, 'alice', 1, 3.5);
    expectHeard(r.out.alice, 'bob', 1, 3.5);
    figures.push(`symmetric NATs, embedded relay: answer → connected ${answerToAudio(r.bob.out())} ms`);
  }, 90_000);

  (coturnMissing() === null ? test : test.skip)('both behind symmetric NATs, relayed by an external coturn the server points clients at', async () => {
    const r = await call({ alice: 'nat-symmetric', bob: 'nat-symmetric' }, 4, { coturnSecret: 'lab-shared-secret' });
    explained([r.alice, r.bob], () => expect([r.aliceExit, r.bobExit]).toEqual([0, 0]));
    const relayPorts: number[] = [];
    for (const run of [r.alice, r.bob]) {
      const p = finalPath(run.out()) as { kind: string; local: { type: string; port: number }; remote: { type: string; port: number } };
      explained([r.alice, r.bob], () => expect(p.kind).toBe('relay'));
      relayPorts.push(...[p.local, p.remote].filter((e) => e.type === 'relay').map((e) => e.port));
    }
    // coturn's relay ports, not the parley server's.
    expect(relayPorts.length).toBeGreaterThan(0);
    for (const port of relayPorts) expect(port).toBeGreaterThanOrEqual(49152);
    for (const port of relayPorts) expect(port).toBeLessThanOrEqual(49252);
    expectHeard(r.out.bob, 'alice', 1, 3.5);
    expectHeard(r.out.alice, 'bob', 1, 3.5);
    figures.push(`symmetric NATs, coturn: answer → connected ${answerToAudio(r.bob.out())} ms`);
  }, 90_000);

  test('UDP blocked for one client: the call ends with no_path on both sides, exit 9, never "connected"', async () => {
    const started = Date.now();
    const r = await call({ alice: 'nat-no-udp', bob: 'nat' }, 4);
    expect([r.aliceExit, r.bobExit]).toEqual([9, 9]);
    for (const run of [r.alice, r.bob]) {
      expect(events(run.out()).map((e) => e.event)).not.toContain('connected');
      expect(find(run.out(), 'failed')).toMatchObject({ reason: 'failed', cause: 'no_path' });
    }
    // "Within a few seconds": the checks give up after 5 s; generous for a busy machine.
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 90_000);

  test("alice's NAT gives her a new mapping mid-call: checks run again and audio resumes", async () => {
    const r = await call({ alice: 'nat', bob: 'nat' }, 14, {
      during: async (l, runs) => {
        await runs.alice.waitOut(/"event":"connected"/);
        await new Promise((resolve) => setTimeout(resolve, 3000));
        l.rebind('alice');
      },
    });
    explained([r.alice, r.bob], () => expect([r.aliceExit, r.bobExit]).toEqual([0, 0]));
    // A side whose path stopped answering checked again, and bob now sends to alice's new mapping.
    const lostOn = [r.alice, r.bob].find((run) => events(run.out()).some((e) => e.event === 'reconnecting'));
    explained([r.alice, r.bob], () => expect(lostOn).toBeDefined());
    const moved = events(r.bob.out()).filter((e) => e.event === 'path').at(-1);
    expect(moved?.path).toMatchObject({ kind: 'reflexive', remote: { ip: '198.51.100.2' } });
    const port = (moved!.path as { remote: { port: number } }).remote.port;
    expect(port).toBeGreaterThanOrEqual(20000);
    expect(port).toBeLessThanOrEqual(20999);
    // Audio flows again both ways, to the end of the call.
    const end = (file: string) => decodeWav(readFileSync(file)).samples.length / RATE;
    expectHeard(r.out.bob, 'alice', end(r.out.bob) - 2.5, end(r.out.bob) - 0.5);
    expectHeard(r.out.alice, 'bob', end(r.out.alice) - 2.5, end(r.out.alice) - 0.5);
    const lost = find(lostOn!.out(), 'reconnecting').t;
    const back = events(lostOn!.out()).find((e) => e.event === 'path' && e.t > lost)?.t;
    figures.push(`a NAT rebinding: path lost (3 s without an answer), new path ${back === undefined ? 'not seen on that side' : `${back - lost} ms`} later`);
  }, 120_000);
});
