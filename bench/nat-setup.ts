/**
 * Dial to first audio through real NATs: the lab of test/net (network namespaces, nftables NAT
 * routers, parley-server on a "public" namespace; root only) with the built `parley` scripted on
 * both sides, bob answering at once (`answer --auto`). Per case, `--reps` calls (5 by default):
 *   dial → audio     alice registered (she dials right after) → alice hears bob's first packet
 *   answer → audio   bob told of the call (he answers at once) → alice hears bob
 *   rtt              the connectivity checks' round trip on the path the call ended on
 * Cases: direct through one NAT and through two port-restricted NATs; relayed (both NATs
 * symmetric) by parley-server's own relay and by coturn. The relay hop's added one-way delay is
 * half the difference of the median round trips, relayed against two NATs direct. Times are when
 * this process read each event line (a millisecond or so after it was written). Writes
 * bench/results/nat-setup.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { coturnMissing } from '../test/helpers/coturn';
import { COTURN_PORT, Lab, labUnavailable, SERVER_IP, type Access } from '../test/net/lab';
import { percentile, round } from './media-harness';

interface Case {
  name: string;
  access: Record<'alice' | 'bob', Access>;
  coturn?: boolean;
}

const CASES: Case[] = [
  { name: 'direct, one NAT', access: { alice: 'nat', bob: 'public' } },
  { name: 'direct, two NATs', access: { alice: 'nat', bob: 'nat' } },
  { name: 'relayed by parley-server', access: { alice: 'nat-symmetric', bob: 'nat-symmetric' } },
  { name: 'relayed by coturn', access: { alice: 'nat-symmetric', bob: 'nat-symmetric' }, coturn: true },
];

interface Sample {
  dialToAudioMs: number;
  answerToAudioMs: number;
  rttMs: number | null;
  path: string | null;
}

const SECRET = 'bench-shared-secret';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

type Event = { event: string; [k: string]: unknown };

function events(out: string): Event[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Event);
}

async function once(c: Case): Promise<Sample> {
  const lab = Lab.create(c.access);
  try {
    if (c.coturn) await lab.startCoturn(SECRET);
    await lab.startServer(c.coturn ? ['--turn-url', `turn:${SERVER_IP}:${COTURN_PORT}`, '--turn-secret', SECRET] : []);
    const bob = lab.parley('bob', ['answer', '--auto', '--name', 'bob', '--max-calls', '1', '--json']);
    await bob.waitOut(/"event":"waiting"/);
    const alice = lab.parley('alice', ['call', 'bob', '--name', 'alice', '--duration', '3', '--json']);
    const code = await alice.exited;
    await bob.exited;
    const [registered, heard, incoming] = [alice.firstAt('registered'), alice.firstAt('audio'), bob.firstAt('incoming')];
    if (code !== 0 || registered === undefined || heard === undefined || incoming === undefined) {
      throw new Error(`${c.name}: the call did not carry audio (exit ${code}):\n${alice.out()}\n${alice.err()}`);
    }
    const stats = events(alice.out()).filter((e) => e.event === 'stats');
    const ended = events(alice.out()).find((e) => e.event === 'ended');
    const rtts = stats.map((e) => e.rttMs).filter((x): x is number => typeof x === 'number');
    return {
      dialToAudioMs: heard - registered,
      answerToAudioMs: heard - incoming,
      rttMs: rtts.length ? rtts[rtts.length - 1] : null,
      path: typeof ended?.path === 'string' ? ended.path : null,
    };
  } finally {
    lab.close();
  }
}

const median = (xs: number[]) => percentile(xs, 0.5);

async function main(): Promise<void> {
  const why = labUnavailable();
  if (why) {
    process.stdout.write(`nat-setup skipped: ${why}\n`);
    return;
  }
  const reps = option('reps', 5);
  const results: Record<string, unknown>[] = [];
  for (const c of CASES) {
    if (c.coturn && coturnMissing() !== null) {
      process.stdout.write(`${c.name}: skipped, coturn is not installed (bash scripts/install-system-deps.sh run)\n`);
      continue;
    }
    const samples: Sample[] = [];
    for (let i = 0; i < reps; i++) samples.push(await once(c));
    const rtts = samples.map((s) => s.rttMs).filter((x): x is number => x !== null);
    const row = {
      case: c.name,
      paths: [...new Set(samples.map((s) => s.path))],
      dialToAudioMs: { median: round(median(samples.map((s) => s.dialToAudioMs))), max: round(Math.max(...samples.map((s) => s.dialToAudioMs))) },
      answerToAudioMs: { median: round(median(samples.map((s) => s.answerToAudioMs))), max: round(Math.max(...samples.map((s) => s.answerToAudioMs))) },
      rttMs: rtts.length ? round(median(rtts)) : null,
      samples,
    };
    results.push(row);
    process.stdout.write(
      `${c.name.padEnd(26)} path ${row.paths.join('/')}: dial → audio ${row.dialToAudioMs.median} ms (max ${row.dialToAudioMs.max}), ` +
        `answer → audio ${row.answerToAudioMs.median} ms (max ${row.answerToAudioMs.max}), rtt ${row.rttMs ?? '–'} ms\n`,
    );
  }
  const rttOf = (name: string) => results.find((r) => r.case === name)?.rttMs as number | null | undefined;
  const direct = rttOf('direct, two NATs');
  const relayHopMs: Record<string, number> = {};
  for (const name of ['relayed by parley-server', 'relayed by coturn']) {
    const relayed = rttOf(name);
    if (typeof direct === 'number' && typeof relayed === 'number') relayHopMs[name] = round((relayed - direct) / 2, 2);
  }
  for (const [name, ms] of Object.entries(relayHopMs)) process.stdout.write(`one-way delay added by the hop, ${name}: ${ms} ms\n`);
  const out = path.join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'nat-setup.json'), JSON.stringify({ when: new Date().toISOString(), reps, results, relayHopMs }, null, 2) + '\n');
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
