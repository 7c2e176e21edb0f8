'use strict';
/**
 * `npm install`'s build of the PulseAudio binding (binding.gyp). It never fails the install:
 * without libpulse-dev (or a compiler) there is no binding, and the `pulse` backends say so
 * when asked to open, while the ALSA backends work as before.
 */
const { spawnSync } = require('node:child_process');

// npm names its bundled node-gyp; run by hand, the one on PATH.
const gyp = process.env.npm_config_node_gyp;
const r = gyp
  ? spawnSync(process.execPath, [gyp, 'rebuild'], { stdio: ['ignore', 'inherit', 'inherit'] })
  : spawnSync('node-gyp', ['rebuild'], { stdio: ['ignore', 'inherit', 'inherit'] });
if (r.status !== 0) {
  process.stderr.write('parley: the PulseAudio binding was not built (apt-get install libpulse-dev, then npm rebuild); the ALSA backends still work\n');
}
