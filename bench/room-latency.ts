/**
 * Mouth-to-ear latency in rooms against a 1:1 call, in one run on loopback: a click entering one
 * member's source to the moment another member's sink is given it. The 1:1 call is alice calling
 * bob (bench/media-harness.ts); each room has the clicker and the listener in this process and
 * its other members as real `parley room join` processes sending silence (real room traffic,
 * their own CPU). Opus at 20 ms. Median and p95 per case, and each room's excess over the call.
 * Writes bench/results/room-latency.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SilenceSource } from '../src/audio';
import { Phone, type RoomSession } from '../src/client/phone';
import { startServer } from '../src/server';
import { RecordingSink } from '../test/e2e/media-helpers';
import { run, type Run } from '../test/cli/helpers/parley';
import { ClickSource, clickCall, clickLatencies, detectClicks, percentile, round, sleep } from './media-harness';

const SECONDS = Number(process.env.ROOM_LATENCY_SECONDS ?? 20);
/** The built client, from dist-bench/bench. */
const PARLEY = path.join(__dirname, '..', '..', 'bin', 'parley');

interface Result {
  case: string;
  members: number;
  topology: string;
  clicksSent: number;
  clicksHeard: number;
  medianMs: number;
  p95Ms: number;
  /** The listener's jitter buffer delay for the clicker's stream at the end, and what it concealed. */
  bufferDelayMs: number;
  concealedMs: number;
}

async function roomCase(members: number): Promise<Result> {
  const server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error' });
  const id = `latency-${members}`;
  const phone = async (name: string) => {
    const p = await Phone.connect({ server: { host: '127.0.0.1', port: server.port }, udpHost: '127.0.0.1', codecs: ['opus'], frameMs: 20, stun: false, relay: 'off' });
    await p.register(name);
    return p;
  };
  const clicker = await phone('clicker');
  const listener = await phone('listener');
  const clicks = new ClickSource();
  const heard = new RecordingSink();
  const owner = await clicker.enterRoom('create', id, { input: clicks, output: 'null' });
  const ear = await listener.enterRoom('join', id, { input: new SilenceSource(), output: heard });
  const extras: Run[] = [];
  for (let i = 2; i < members; i++) {
    const r = run(['room', 'join', id, '--name', `extra${i}`, '--server', `127.0.0.1:${server.port}`, '--input', 'silence', '--output', 'null', '--codec', 'opus', '--stun', 'off', '--relay', 'off', '--json'], { bin: PARLEY });
    extras.push(r);
    await r.waitOut('"event":"joined"');
  }
  const started = new Promise<void>((resolve) => ear.once('started', () => resolve()));
  await waitMembers(owner, members);
  await owner.start();
  await started;
  await sleep(SECONDS * 1000);
  const topology = (ear.terms as { topology?: string } | null)?.topology ?? 'forward';
  const stream = ear.media?.stats().members.clicker;
  for (const r of extras) r.child.kill('SIGTERM');
  await Promise.all(extras.map((r) => r.exited));
  await Promise.all([clicker.close(), listener.close()]);
  await server.close();
  const start = heard.times[0] + 1000;
  const latencies = clickLatencies(clicks.onsets, detectClicks(heard).filter((t) => t > start));
  return {
    case: `room of ${members}`,
    members,
    topology: String(topology),
    clicksSent: clicks.onsets.filter((t) => t > start).length,
    clicksHeard: latencies.length,
    medianMs: round(percentile(latencies, 0.5)),
    p95Ms: round(percentile(latencies, 0.95)),
    bufferDelayMs: round(stream?.bufferDelayMs ?? NaN),
    concealedMs: round(stream?.concealedMs ?? NaN),
  };
}

async function waitMembers(room: RoomSession, n: number): Promise<void> {
  while (room.members.length < n) await sleep(50);
}

async function main(): Promise<void> {
  const results: Result[] = [];
  const call = await clickCall({ codec: 'opus', frameMs: 20 }, SECONDS);
  results.push({
    case: '1:1 call',
    members: 2,
    topology: 'direct',
    clicksSent: call.clicksSent,
    clicksHeard: call.latencies.length,
    medianMs: round(percentile(call.latencies, 0.5)),
    p95Ms: round(percentile(call.latencies, 0.95)),
    bufferDelayMs: round(call.stats.bufferDelayMs),
    concealedMs: round(call.stats.concealedMs),
  });
  for (const n of [4, 8]) results.push(await roomCase(n));
  const base = results[0].medianMs;
  for (const r of results) {
    const excess = r.members === 2 && r.topology === 'direct' ? '' : `  excess over the call ${round(r.medianMs - base)} ms (target ≤ 5)`;
    console.log(`${r.case.padEnd(12)} ${r.topology.padEnd(8)} median ${String(r.medianMs).padStart(5)} ms  p95 ${String(r.p95Ms).padStart(5)} ms  clicks ${r.clicksHeard}/${r.clicksSent}  buffer ${r.bufferDelayMs} ms  concealed ${r.concealedMs} ms${excess}`);
  }
  const dir = path.join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'room-latency.json'), JSON.stringify({ date: new Date().toISOString(), seconds: SECONDS, results }, null, 2) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
