/**
 * Recorder module for node-record-lpcm16 (loaded by absolute path). Unlike its bundled one it
 * asks ALSA for short periods (see ../../alsa.ts).
 */
import { arecordArgs } from '../../alsa';
import type { RecorderOptions, RecorderCommand } from './options';

export = function arecord(options: RecorderOptions): RecorderCommand {
  return { cmd: 'arecord', args: arecordArgs(options), spawnOptions: { env: options.env } };
};
