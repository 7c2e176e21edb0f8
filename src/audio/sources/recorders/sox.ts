/**
 * Recorder module for node-record-lpcm16 (loaded by absolute path): sox reading ALSA directly
 * with a one-period I/O buffer, where the bundled one keeps sox's 8 KiB default (~85 ms).
 */
import type { RecorderOptions, RecorderCommand } from './options';

export = function sox(options: RecorderOptions): RecorderCommand {
  const format = ['-r', String(options.sampleRate), '-c', String(options.channels), '-b', '16', '-e', 'signed-integer'];
  const bufferBytes = Math.round((options.sampleRate * options.channels * 2 * options.periodUs) / 1e6);
  return {
    cmd: 'sox',
    args: ['-q', '--buffer', String(bufferBytes), '-t', 'alsa', ...format, options.device, '-t', 'raw', ...format, '-'],
    spawnOptions: { env: options.env },
  };
};
