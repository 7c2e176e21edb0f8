import { spawnSync } from 'node:child_process';
import path from 'node:path';

/**
 * Runs every benchmark, each in its own process so one's memory and timers don't colour
 * another's figures. `npm run bench -- NAME…` runs only those.
 */
const BENCHES = ['signaling/bench', 'latency', 'media-cpu', 'media-cpu-floor', 'device-latency'];

const only = process.argv.slice(2);
let failed = 0;
for (const name of BENCHES) {
  if (only.length && !only.some((o) => name.includes(o))) continue;
  const file = path.join(__dirname, `${name}.js`);
  process.stdout.write(`\n=== ${name} ===\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', file], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`${name}: exited with ${r.status ?? r.signal}\n`);
  }
}
process.exitCode = failed ? 1 : 0;
