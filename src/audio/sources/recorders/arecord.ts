/**
 * Recorder module for node-record-lpcm16 (loaded by absolute path). Unlike its bundled one it
 * asks ALSA for 10 ms periods: arecord's default 125 ms period adds ~115 ms of capture latency.
 */
import type { RecorderOptions, RecorderCommand } from './options';

export = function arecord(options: RecorderOptions): RecorderCommand {
  return {
    cmd: 'arecord',
    args: [
      '-q',
      '-D', options.device,
      '-r', String(options.sampleRate),
      '-c', String(options.channels),
      '-f', 'S16_LE',
      '-t', 'raw',
      `--period-time=${options.periodUs}`,
      `--buffer-time=${options.periodUs * 4}`,
      '-',
    ],
    spawnOptions: { env: options.env },
  };
};
