'use strict';
/**
 * The environment bin/parley-server gives the server (its allocator: bin/server-env.sh, sourced
 * here as there), for harnesses that start the server another way (the soak, the signaling
 * benchmark) so that they run it as users do.
 */
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

module.exports = function serverLauncherEnv(env = process.env) {
  const out = execFileSync('/bin/sh', ['-c', '. "$0" && env -0', join(__dirname, 'server-env.sh')], { env, encoding: 'utf8' });
  const result = {};
  for (const entry of out.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) result[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return result;
};
