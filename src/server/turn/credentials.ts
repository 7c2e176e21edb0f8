import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock';

/** The realm every parley relay answers with (RFC 8489 §9.2). */
export const TURN_REALM = 'parley';

/**
 * Seconds a minted credential may start an allocation: more than a ring plus a typical call.
 * Like coturn's `use-auth-secret`, expiry is checked when an allocation is made, not after: an
 * allocation lives on (refreshed with the same credentials) until its call ends.
 */
export const DEFAULT_TURN_TTL_S = 600;

/** Who a credential was minted for. */
export interface TurnIdentity {
  callId: string;
  name: string;
}

export interface ParsedTurnUser extends TurnIdentity {
  /** Unix seconds after which the credential no longer allocates. */
  expiry: number;
}

/** `expiry:callId:name`; the expiry is bounded so a hostile username costs no big-number parse. */
const USERNAME = /^(\d{1,12}):([0-9a-f]{32}):([A-Za-z0-9._-]{1,32})$/;

/** The TURN REST password of `username`: base64(HMAC-SHA1(secret, username)), as coturn computes it. */
export function turnPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username, 'utf8').digest('base64');
}

/** Credentials for `who`, valid for `ttlS` seconds from `nowS` (unix seconds). */
export function mint(secret: string, who: TurnIdentity, ttlS: number, nowS: number): { username: string; password: string; expiry: number } {
  const expiry = Math.floor(nowS + ttlS);
  const username = `${expiry}:${who.callId}:${who.name}`;
  return { username, password: turnPassword(secret, username), expiry };
}

/**
 * The identity in `username` when it is well-formed and unexpired at `nowS`, and (when given)
 * `password` is the one the secret yields; null otherwise.
 */
export function verify(secret: string, username: string, password: string | undefined, nowS: number): ParsedTurnUser | null {
  const m = USERNAME.exec(username);
  if (!m) return null;
  const expiry = Number(m[1]);
  if (expiry <= nowS) return null;
  if (password !== undefined) {
    const want = Buffer.from(turnPassword(secret, username));
    const got = Buffer.from(password);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return null;
  }
  return { expiry, callId: m[2], name: m[3] };
}

/** The identity in a well-formed username, expired or not (for requests on an existing allocation). */
export function parseTurnUser(username: string): ParsedTurnUser | null {
  return verify('', username, undefined, -Infinity);
}

/**
 * Unix seconds as the server's clock sees them: wall time at start plus the clock's progress,
 * so a test's manual clock moves credential expiry too.
 */
export function wallSeconds(clock: Clock): () => number {
  const wallStart = Date.now();
  const monoStart = clock.now();
  return () => Math.floor((wallStart + clock.now() - monoStart) / 1000);
}
