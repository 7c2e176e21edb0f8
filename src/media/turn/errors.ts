/**
 * Coded TURN errors, in the manner of undici's lib/core/errors.js (as MediaError): why a relay
 * allocation could not be made or was lost, as a stable `code`, a one-line `message` saying
 * what the server answered, and the server's error code (if it answered one) in `status`.
 */
import { oneLine } from '../../audio/errors';

export type RelayErrorCode =
  /** No answer from the server within the timeout. */
  | 'timeout'
  /** 401: the credentials were refused (wrong password, expired REST username). */
  | 'unauthorized'
  /** 403: the server forbids this client an allocation. */
  | 'forbidden'
  /** 486: the user's allocation quota is used up (or 508: the server is out of capacity). */
  | 'quota'
  /** Any other error answer (437 allocation mismatch, 400, 442 …) or an unusable success answer. */
  | 'refused'
  /** Closed (by us, or by an abort signal) before the allocation was made. */
  | 'closed';

const kRelayError = Symbol.for('parley.error.relay');

export class RelayError extends Error {
  readonly code: RelayErrorCode;
  /** The STUN error code the server answered (401, 437, 486 …), or 0 when it did not answer one. */
  readonly status: number;

  constructor(code: RelayErrorCode, message: string, opts: { status?: number; cause?: unknown } = {}) {
    super(oneLine(message), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RelayError';
    this.code = code;
    this.status = opts.status ?? 0;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kRelayError] === true;
  }

  get [kRelayError](): boolean {
    return true;
  }
}

/** RFC 8656 §18 / RFC 8489 §14.8 reason phrases: the server's own phrase is not parsed. */
const REASONS: Record<number, string> = {
  300: 'Try Alternate',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  420: 'Unknown Attribute',
  437: 'Allocation Mismatch',
  438: 'Stale Nonce',
  440: 'Address Family not Supported',
  441: 'Wrong Credentials',
  442: 'Unsupported Transport Protocol',
  443: 'Peer Address Family Mismatch',
  486: 'Allocation Quota Reached',
  500: 'Server Error',
  508: 'Insufficient Capacity',
};

export function statusText(status: number): string {
  return `${status} ${REASONS[status] ?? 'Error'}`;
}

/** The error code an error answer to a request maps to. */
export function codeForStatus(status: number): RelayErrorCode {
  if (status === 401 || status === 441) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 486 || status === 508) return 'quota';
  return 'refused';
}
