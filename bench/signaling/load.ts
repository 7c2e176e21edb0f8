import { performance } from 'node:perf_hooks';
import { ANSWER, OFFER, driverFor, type BenchClient } from './driver';
import type { CallsResult, HoldResult, LoadJob, Reply } from './ipc';
import { quantile } from './stats';

/**
 * The load generator, in its own process so its CPU and memory are not the server's.
 * It takes one job at a time over IPC from bench.ts and answers with the figures.
 */
let held: BenchClient[] = [];
let errors = 0;
const onError = () => void errors++;

/** Opens `count` registered clients, `batch` connection attempts at a time, and keeps them. */
async function hold(job: Extract<LoadJob, { type: 'hold' }>): Promise<HoldResult> {
  const driver = driverFor(job.kind);
  const started = performance.now();
  for (let i = 0; i < job.count; i += job.batch) {
    const n = Math.min(job.batch, job.count - i);
    const batch = Array.from({ length: n }, (_, k) => driver.connect(job.port, `u${job.first + i + k}`, onError));
    held.push(...(await Promise.all(batch)));
  }
  return { registered: held.length, ms: performance.now() - started };
}

type Pair = { caller: BenchClient; callee: BenchClient; calleeName: string };
let pairs: Pair[] = [];

/** Opens and registers `pairs` caller/callee pairs (callers answer at once), kept for `calls`. */
async function connectPairs(job: Extract<LoadJob, { type: 'pairs' }>): Promise<{ registered: number }> {
  const driver = driverFor(job.kind);
  pairs = await Promise.all(
    Array.from({ length: job.pairs }, async (_, i) => {
      const [caller, callee] = await Promise.all([
        driver.connect(job.port, `caller${i}`, onError),
        driver.connect(job.port, `callee${i}`, onError),
      ]);
      callee.answerAll(ANSWER);
      return { caller, callee, calleeName: `callee${i}` };
    }),
  );
  return { registered: pairs.length * 2 };
}

/**
 * The pairs, each looping call → accepted → hang-up back to back. Only set-ups whose
 * `accepted` lands in the window after the warm-up count; latency is from sending `call` to
 * receiving `accepted`, at the caller.
 */
async function calls(job: Extract<LoadJob, { type: 'calls' }>): Promise<CallsResult> {
  const cpu0 = process.cpuUsage();
  const latencies: number[] = [];
  let total = 0;
  let stopping = false;
  let running = pairs.length;
  let settled!: () => void;
  const allSettled = new Promise<void>((resolve) => (settled = resolve));
  const start = performance.now();
  const from = start + job.warmupMs;
  const until = from + job.durationMs;

  const loop = (p: Pair) => {
    if (stopping) {
      if (--running === 0) settled();
      return;
    }
    const sent = performance.now();
    p.caller.call(p.calleeName, OFFER, (call) => {
      const now = performance.now();
      total++;
      if (now >= from && now <= until) latencies.push(now - sent);
      p.caller.hangup(call, () => loop(p));
    });
  };
  pairs.forEach(loop);
  await new Promise((resolve) => setTimeout(resolve, until - performance.now()));
  stopping = true;
  // A pair whose round never comes back (a lost reply) is not waited for past a second.
  await Promise.race([allSettled, new Promise((resolve) => setTimeout(resolve, 1000))]);
  const cpu = process.cpuUsage(cpu0);
  return {
    setups: latencies.length,
    totalSetups: total,
    seconds: job.durationMs / 1000,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    errors,
    cpuMicros: cpu.user + cpu.system,
  };
}

async function run(job: LoadJob): Promise<unknown> {
  switch (job.type) {
    case 'hold':
      return hold(job);
    case 'pairs':
      return connectPairs(job);
    case 'calls':
      return calls(job);
    case 'release':
      for (const c of held) c.close();
      for (const p of pairs) {
        p.caller.close();
        p.callee.close();
      }
      held = [];
      pairs = [];
      return { errors };
  }
}

process.on('message', (job: LoadJob) => {
  run(job).then(
    (value) => process.send?.({ id: job.id, ok: true, value } satisfies Reply<unknown>),
    (err: Error) => process.send?.({ id: job.id, ok: false, error: err.message } satisfies Reply<unknown>),
  );
});
process.on('disconnect', () => process.exit(0));
