/**
 * Recorder module for node-record-lpcm16 (loaded by absolute path): sox reading ALSA directly
 * with a one-period I/O buffer (see ../../alsa.ts).
 */
import { soxCaptureArgs } from '../../alsa';
import type { RecorderOptions, RecorderCommand } from './options';

export = function sox(options: RecorderOptions): RecorderCommand {
  return { cmd: 'sox', args: soxCaptureArgs(options), spawnOptions: { env: options.env } };
};
