import { spawnSync } from 'node:child_process';
import path from 'node:path';

/**
 * Runs every benchmark, each in its own process so one's memory and timers don't colour
 * another's figures. `npm run bench -- NAME…` runs only those; options after the names
 * (`npm run bench -- signaling --clients 2000 --reps 3`) go to each bench that runs.
 */
const BENCHES = ['signaling/bench', 'latency', 'media-cpu', 'media-cpu-floor', 'client-cpu', 'media-crypto', 'voice-processing', 'echo-cancellers', 'device-latency', 'mouth-to-ear', 'nat-setup', 'relay', 'forwarder', 'room-client', 'room-topology', 'room-latency', 'reregister'];

const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith('--'));
const only = firstOption === -1 ? args : args.slice(0, firstOption);
const options = firstOption === -1 ? [] : args.slice(firstOption);
let failed = 0;
for (const name of BENCHES) {
  if (only.length && !only.some((o) => name.includes(o))) continue;
  const file = path.join(__dirname, `${name}.js`);
  process.stdout.write(`\n=== ${name} ===\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', file, ...options], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`${name}: exited with ${r.status ?? r.signal}\n`);
  }
}
process.exitCode = failed ? 1 : 0;
