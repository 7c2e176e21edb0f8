'use strict';
/**
 * `npm install`'s build of the native bindings (binding.gyp): PulseAudio (native/pulse.c) and
 * voice processing (native/speexdsp.c). It never fails the install: a binding whose library
 * (libpulse-dev, libspeexdsp-dev) or compiler is missing is not built, and what needs it says so
 * when asked: without PulseAudio the ALSA backends still work, without voice processing calls
 * still work, unprocessed.
 */
const { spawnSync } = require('node:child_process');

// npm names its bundled node-gyp; run by hand, the one on PATH.
const gyp = process.env.npm_config_node_gyp;
const r = gyp
  ? spawnSync(process.execPath, [gyp, 'rebuild'], { stdio: ['ignore', 'inherit', 'inherit'] })
  : spawnSync('node-gyp', ['rebuild'], { stdio: ['ignore', 'inherit', 'inherit'] });
if (r.status !== 0) {
  process.stderr.write(
    'parley: the native bindings were not built (apt-get install libpulse-dev libspeexdsp-dev, then npm rebuild): ' +
      'without PulseAudio the ALSA backends still work; without voice processing calls still work, unprocessed\n',
  );
}
