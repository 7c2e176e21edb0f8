/**
 * Coded media errors, in the manner of undici's lib/core/errors.js: what ends a call's media,
 * as a stable `code` to branch on, a one-line `message`, and the raw text in `detail`.
 */
import { AudioError, oneLine } from '../audio/errors';

export type MediaErrorCode =
  /** The input device would not open or died (the AudioError is the cause). */
  | 'input_device'
  /** The output device would not open or died. */
  | 'output_device'
  /** No address of the peer answered the connectivity checks in time. */
  | 'no_path'
  /** The UDP socket for media could not be opened, or failed. */
  | 'socket';

const kMediaError = Symbol.for('parley.error.media');

export class MediaError extends Error {
  readonly code: MediaErrorCode;
  readonly detail: string;

  constructor(code: MediaErrorCode, message: string, opts: { detail?: string; cause?: unknown } = {}) {
    super(oneLine(message), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'MediaError';
    this.code = code;
    this.detail = opts.detail?.trim() ?? '';
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kMediaError] === true;
  }

  get [kMediaError](): boolean {
    return true;
  }

  /**
   * A device's failure as a media error: an AudioError keeps its code, message and detail;
   * anything else (a source or sink of the caller's own) is coded by the side it came from.
   */
  static fromDevice(err: unknown, side: 'input' | 'output'): MediaError {
    if (err instanceof MediaError) return err;
    const code = side === 'input' ? 'input_device' : 'output_device';
    if (err instanceof AudioError) {
      return new MediaError(err.code === 'bad_spec' ? code : err.code, err.message, { detail: err.detail, cause: err });
    }
    const e = err instanceof Error ? err : new Error(String(err));
    return new MediaError(code, e.message, { detail: e.message, cause: e });
  }
}
