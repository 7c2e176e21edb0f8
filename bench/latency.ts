/**
 * Mouth-to-ear latency on loopback: from a click entering the caller's source to the moment
 * the callee's sink is given it, at 20 and 10 ms frames, and through 5 % loss with 0–20 ms
 * of jitter. Prints a table and writes bench/results/latency.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { clickCall, percentile, round, type PairOptions } from './media-harness';

interface Scenario extends PairOptions {
  name: string;
  seconds: number;
  targetMedianMs: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'opus 20 ms', codec: 'opus', frameMs: 20, seconds: 15, targetMedianMs: 40 },
  { name: 'opus 10 ms', codec: 'opus', frameMs: 10, seconds: 15, targetMedianMs: 25 },
  { name: 'pcm 20 ms', codec: 'pcm', frameMs: 20, seconds: 15, targetMedianMs: 40 },
  {
    name: 'opus 20 ms, 5% loss, 0–20 ms jitter',
    codec: 'opus',
    frameMs: 20,
    seconds: 30,
    targetMedianMs: 80,
    impairment: { loss: 0.05, jitterMs: 20, seed: 42 },
  },
];

async function main(): Promise<void> {
  const results = [];
  for (const s of SCENARIOS) {
    const { latencies, stats, clicksSent } = await clickCall(s, s.seconds);
    const unrecovered = stats.concealedMs / Math.max(1, stats.framesPlayed * s.frameMs);
    const r = {
      scenario: s.name,
      clicksSent,
      clicksHeard: latencies.length,
      medianMs: round(percentile(latencies, 0.5)),
      p95Ms: round(percentile(latencies, 0.95)),
      minMs: round(Math.min(...latencies)),
      maxMs: round(Math.max(...latencies)),
      targetMedianMs: s.targetMedianMs,
      met: percentile(latencies, 0.5) <= s.targetMedianMs,
      lossPercent: round(stats.lossPercent, 2),
      jitterMs: round(stats.jitterMs, 2),
      framesPlayed: stats.framesPlayed,
      framesRecovered: stats.framesRecovered,
      concealedMs: round(stats.concealedMs),
      insertedMs: round(stats.insertedMs),
      removedMs: round(stats.removedMs),
      /** Frames played from neither their own packet nor a redundant copy (target ≤ 1 % under loss). */
      unrecoveredPercent: round(100 * unrecovered, 2),
      bufferDelayMs: round(stats.bufferDelayMs),
    };
    results.push(r);
    console.log(
      `${s.name.padEnd(38)} median ${String(r.medianMs).padStart(5)} ms  p95 ${String(r.p95Ms).padStart(5)} ms  ` +
        `(target ≤ ${s.targetMedianMs}: ${r.met ? 'met' : 'MISSED'})  clicks ${r.clicksHeard}/${r.clicksSent}  ` +
        `loss ${r.lossPercent}%  recovered ${r.framesRecovered}  unrecovered ${r.unrecoveredPercent}%  inserted ${r.insertedMs} ms  removed ${r.removedMs} ms`,
    );
  }
  const dir = path.join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'latency.json'), JSON.stringify({ date: new Date().toISOString(), results }, null, 2) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
