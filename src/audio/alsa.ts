/**
 * Everything parley asks of ALSA's command-line programs, in one place: the arguments of
 * arecord and aplay (one program, one set of options), of sox reading ALSA, and how their
 * multi-line complaints become one readable reason.
 */

/** ALSA period asked of every device: capture and playback latency are each about one period. */
export const ALSA_PERIOD_US = 10000;
/** Periods in the device buffer. */
const BUFFER_PERIODS = 4;

export interface AlsaStream {
  /** ALSA device name, e.g. "default" or "hw:1,0". */
  device: string;
  sampleRate: number;
  channels: number;
  periodUs?: number;
}

/**
 * arecord/aplay options for a raw S16_LE stream on stdin/stdout with short periods: arecord's
 * default 125 ms period alone adds ~115 ms of capture latency.
 */
function pcmArgs(s: AlsaStream): string[] {
  const periodUs = s.periodUs ?? ALSA_PERIOD_US;
  return [
    '-D', s.device,
    '-r', String(s.sampleRate),
    '-c', String(s.channels),
    '-f', 'S16_LE',
    '-t', 'raw',
    `--period-time=${periodUs}`,
    `--buffer-time=${periodUs * BUFFER_PERIODS}`,
  ];
}

export function arecordArgs(s: AlsaStream): string[] {
  return ['-q', ...pcmArgs(s), '-'];
}

/**
 * aplay reading stdin. `-v` prints the device's setup once its parameters are set: the sign
 * that the device opened (see APLAY_READY). `startDelayUs` is the audio ALSA must hold before
 * playback starts: the level it starts at is the delay it keeps.
 */
export function aplayArgs(s: AlsaStream & { startDelayUs?: number }): string[] {
  const startDelayUs = s.startDelayUs ?? s.periodUs ?? ALSA_PERIOD_US;
  return ['-q', '-v', `--start-delay=${startDelayUs}`, ...pcmArgs(s), '-'];
}

/** In aplay -v's output once the device is open and set up (snd_pcm_dump's heading). */
export const APLAY_READY = /Its setup is:/;

/** sox reading ALSA directly with a one-period I/O buffer, where its 8 KiB default is ~85 ms. */
export function soxCaptureArgs(s: AlsaStream): string[] {
  const periodUs = s.periodUs ?? ALSA_PERIOD_US;
  const format = ['-r', String(s.sampleRate), '-c', String(s.channels), '-b', '16', '-e', 'signed-integer'];
  const bufferBytes = Math.round((s.sampleRate * s.channels * 2 * periodUs) / 1e6);
  return ['-q', '--buffer', String(bufferBytes), '-t', 'alsa', ...format, s.device, '-t', 'raw', ...format, '-'];
}

/**
 * The one line worth showing from what ALSA and its programs wrote on failure: no card, no such
 * device, or the error they ended on ("device or resource busy"), most telling first.
 */
export function alsaReason(text: string): string | undefined {
  const card = /cannot find card '([^']*)'/.exec(text);
  if (card) return `no sound card ${card[1]}`;
  const pcm = /Unknown PCM (\S+)/.exec(text);
  if (pcm) return `no such device "${pcm[1]}"`;
  const open = /(?:audio open error|snd_pcm_open error): *(.+)/i.exec(text);
  // Opening a PCM whose device node is not there fails with ENOENT: for a sound card, no such device.
  if (open) return /^no such file or directory$/i.test(open[1].trim()) ? 'no such device' : lowerFirst(open[1].trim());
  const device = /cannot open device (\S+)/.exec(text);
  if (device) return `cannot open device "${device[1]}"`;
  const last = text
    .split(/\r?\n/)
    .map((l) => l.replace(/^ALSA lib [^ ]+ /, '').replace(/^\w+: \w+:\d+: /, '').trim())
    .filter((l) => /error|fail|cannot|can't|unable|no such/i.test(l))
    .pop();
  return last ? lowerFirst(last) : undefined;
}

function lowerFirst(s: string): string {
  return /^[A-Z][a-z]/.test(s) ? s[0].toLowerCase() + s.slice(1) : s;
}
