'use strict';
/**
 * Starts one of parley's commands from dist/. A checkout (or a git install whose build failed)
 * has bin/ but no dist/: say how to build instead of printing a module-resolution stack trace.
 */
const { existsSync } = require('node:fs');
const { join } = require('node:path');

module.exports = function runBuilt(entry) {
  const file = join(__dirname, '..', 'dist', entry);
  if (!existsSync(file)) {
    process.stderr.write('parley is not built: run npm run build\n');
    process.exit(1);
  }
  require(file).main(process.argv.slice(2));
};
