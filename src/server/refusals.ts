import type { ErrorCode } from '../protocol';

/** Why the server did not do what a request asked: an error code and the sentence the client shows. */
export interface Failure {
  code: ErrorCode;
  message: string;
  /** With `rate_limited`: when trying again may succeed. */
  retryAfterMs?: number;
}

/** A `rate_limited` refusal whose message says when to try again. */
export function rateLimited(why: string, retryAfterMs: number): Failure {
  return { code: 'rate_limited', message: `${why}; try again in ${describeWait(retryAfterMs)}`, retryAfterMs };
}

function describeWait(ms: number): string {
  if (ms < 1000) return `${Math.max(1, Math.ceil(ms / 100) * 100)} ms`;
  const s = Math.ceil(ms / 1000);
  return s === 1 ? '1 s' : `${s} s`;
}
