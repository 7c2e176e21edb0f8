'use strict';
/**
 * `npm run bench [-- NAME… [--OPTION…]]`: builds the benchmarks and runs them (bench/run.ts). The packages
 * only the benchmarks use are not among parley's own: `npm run setup:bench` installs them,
 * the npm ones into bench/node_modules, which NODE_PATH shows to the compiled code in dist-bench/.
 */
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const benchModules = path.join(root, 'bench', 'node_modules');
const HINT = 'npm run setup:bench';

/** Runs a step in the project's directory; a failed step ends the run with its status. */
function step(command, args, env = process.env) {
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const { dependencies } = require(path.join(root, 'bench', 'package.json'));
const missing = Object.keys(dependencies).filter((name) => !existsSync(path.join(benchModules, name, 'package.json')));
if (missing.length) {
  process.stderr.write(`the benchmarks need ${missing.join(', ')}: run ${HINT}\n`);
  process.exit(1);
}

step('npm', ['run', '--silent', 'build']);
step(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', 'tsconfig.bench.json']);

const missingDevice = require(path.join(root, 'dist-bench', 'bench', 'device', 'pulse.js')).missingPieces();
if (missingDevice.length) {
  process.stderr.write(`device-latency will be skipped, missing ${missingDevice.join(', ')}: run ${HINT}\n`);
}

const nodePath = [benchModules, process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
step(process.execPath, [path.join(root, 'dist-bench', 'bench', 'run.js'), ...process.argv.slice(2)], { ...process.env, NODE_PATH: nodePath });
