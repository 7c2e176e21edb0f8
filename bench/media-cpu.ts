/**
 * CPU of one client during a call: the callee runs in a child process (its own event loop and
 * process.cpuUsage), the caller and the server in this one. Writes bench/results/media-cpu.json.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Phone } from '../src/client/phone';
import { startServer } from '../src/server';
import { round, sleep } from './media-harness';

const MEASURE_MS = 15_000;

function next(child: ChildProcess, type: string): Promise<Record<string, number>> {
  return new Promise((resolve) => {
    const on = (m: { type: string }) => {
      if (m.type !== type) return;
      child.off('message', on);
      resolve(m as unknown as Record<string, number>);
    };
    child.on('message', on);
  });
}

async function measure(codec: 'opus' | 'pcm', frameMs: 10 | 20 | 40) {
  const server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error' });
  const child = fork(path.join(__dirname, 'media-cpu-child.js'), [String(server.port), String(frameMs), codec]);
  await next(child, 'ready');
  const caller = await Phone.connect({ server: { host: '127.0.0.1', port: server.port }, udpHost: '127.0.0.1', codecs: [codec], frameMs });
  await caller.register('caller');
  const inCall = next(child, 'in-call');
  const call = await caller.call('cpu', { input: 'tone', output: 'null' }).result;
  await inCall;
  await sleep(2000);
  child.send({ type: 'start' });
  await sleep(MEASURE_MS);
  const stopped = next(child, 'cpu');
  child.send({ type: 'stop' });
  const cpu = await stopped;
  const stats = call.stats();
  await call.hangup();
  child.send({ type: 'exit' });
  await new Promise((r) => child.once('exit', r));
  await caller.close();
  await server.close();
  const percent = (100 * (cpu.userMs + cpu.systemMs)) / cpu.wallMs;
  return { codec, frameMs, cpuPercentOfOneCore: round(percent, 2), userMs: round(cpu.userMs), systemMs: round(cpu.systemMs), wallMs: round(cpu.wallMs), packetsReceivedByCaller: stats.packetsReceived };
}

/** Scenarios as `codec:frameMs` arguments (e.g. `opus:20`); all three by default. */
function scenarios(): ['opus' | 'pcm', 10 | 20 | 40][] {
  const args = process.argv.slice(2);
  if (!args.length) return [['opus', 20], ['opus', 10], ['pcm', 20]];
  return args.map((a) => {
    const [codec, ms] = a.split(':');
    return [codec as 'opus' | 'pcm', Number(ms) as 10 | 20 | 40];
  });
}

async function main(): Promise<void> {
  const results = [];
  for (const [codec, frameMs] of scenarios()) {
    const r = await measure(codec, frameMs);
    results.push(r);
    console.log(`${codec} ${frameMs} ms: ${r.cpuPercentOfOneCore}% of one core (target ≤ 2% for opus 20 ms)`);
  }
  const dir = path.join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'media-cpu.json'), JSON.stringify({ date: new Date().toISOString(), results }, null, 2) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
