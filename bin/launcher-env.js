'use strict';
/**
 * The environment bin/parley-server's shell line gives the server (read from that line, so there
 * is one place it is written): harnesses that start the server another way (the soak, the
 * signaling benchmark) run it as users do.
 */
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

module.exports = function serverLauncherEnv(env = process.env) {
  const line = readFileSync(join(__dirname, 'parley-server'), 'utf8').split('\n')[1];
  const tunables = /glibc\.malloc\.[\w.=:]+/.exec(line)[0];
  return { ...env, GLIBC_TUNABLES: env.GLIBC_TUNABLES ? `${env.GLIBC_TUNABLES}:${tunables}` : tunables };
};
