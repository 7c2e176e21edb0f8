'use strict';
/**
 * Empties dist/ before a pack: tsc never deletes the output of a source that was moved or
 * removed, and such leftovers would ship in the package. `prepare` builds it again.
 */
const { rmSync } = require('node:fs');
const { join } = require('node:path');

rmSync(join(__dirname, '..', 'dist'), { recursive: true, force: true });
