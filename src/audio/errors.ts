/**
 * Coded audio errors, in the manner of undici's lib/core/errors.js: one class, a stable `code`
 * to branch on, a one-line `message` fit for a status line, and the raw text (an ALSA dump, a
 * recorder's stderr) kept in `detail` for whoever asked for verbose output.
 */

export type AudioErrorCode =
  /** A source or sink spec that names nothing this build knows (`--input foo.mp3`). */
  | 'bad_spec'
  /** The input (microphone, WAV file) would not open, or died. */
  | 'input_device'
  /** The output (speaker, WAV file) would not open, or died. */
  | 'output_device';

const kAudioError = Symbol.for('parley.error.audio');

export class AudioError extends Error {
  readonly code: AudioErrorCode;
  /** The full text behind the message (several lines, maybe), or '' when the message says it all. */
  readonly detail: string;

  constructor(code: AudioErrorCode, message: string, opts: { detail?: string; cause?: unknown } = {}) {
    super(oneLine(message), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AudioError';
    this.code = code;
    this.detail = opts.detail?.trim() ?? '';
  }

  /** True for an AudioError from any copy of this module (the class may be loaded twice). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kAudioError] === true;
  }

  get [kAudioError](): boolean {
    return true;
  }
}

/** Text squeezed onto one line: line breaks and runs of space become one separator. */
export function oneLine(text: string): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');
}
