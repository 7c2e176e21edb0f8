import { MAX_REQ_CHARS } from './limits';
import type { ClientMessage } from './signaling';

/**
 * A quick check of the requests a call is made of (call, answer, hangup, ping), in their plain
 * form, before the schemas: it accepts a strict subset of what the zod schemas accept, and then
 * returns what zod would (the parsed object itself, as it has no field zod would strip). Anything
 * it is not sure of (an unknown or optional field it does not handle, a long line, a `__proto__`
 * key) it leaves to zod, which decides with its reasons. test/protocol/quick-parse.test.ts holds it to that.
 */

/**
 * Lines up to this many characters cannot hold a body over MAX_BODY_BYTES (16 KiB) however they
 * are written: serialising parsed JSON grows a text only through numbers (`9e20`, 4 characters,
 * becomes 21) — at most 5.25 bytes a character — and 3000 × 5.25 = 15,750. Longer lines go to zod,
 * which measures the body.
 */
export const QUICK_MAX_CHARS = 3000;

type Obj = Record<string, unknown>;

/** `raw` (JSON.parse of `line`, already known to be an object) as a message, or undefined to ask zod. */
export function quickClientMessage(raw: Obj, chars: number): ClientMessage | undefined {
  if (chars > QUICK_MAX_CHARS || !validReq(raw.req)) return undefined;
  switch (raw.type) {
    case 'call':
      return onlyKeys(raw, CALL_KEYS) && typeof raw.to === 'string' && raw.to.length <= 256 && isBody(raw.offer) ? (raw as ClientMessage) : undefined;
    case 'answer':
      return onlyKeys(raw, ANSWER_KEYS) &&
        isCallId(raw.call) &&
        typeof raw.accept === 'boolean' &&
        (raw.answer === undefined || isBody(raw.answer))
        ? (raw as ClientMessage)
        : undefined;
    case 'hangup':
      return onlyKeys(raw, HANGUP_KEYS) && isCallId(raw.call) && (raw.reason === undefined || raw.reason === 'hangup') ? (raw as ClientMessage) : undefined;
    case 'ping':
      return onlyKeys(raw, PING_KEYS) ? (raw as ClientMessage) : undefined;
    default:
      return undefined;
  }
}

const CALL_KEYS = new Set(['type', 'req', 'to', 'offer']);
const ANSWER_KEYS = new Set(['type', 'req', 'call', 'accept', 'answer']);
const HANGUP_KEYS = new Set(['type', 'req', 'call', 'reason']);
const PING_KEYS = new Set(['type', 'req']);

/** Absent, a string of at most MAX_REQ_CHARS, or a safe integer (zod's `int()`). */
function validReq(v: unknown): boolean {
  return v === undefined || (typeof v === 'string' ? v.length <= MAX_REQ_CHARS : Number.isSafeInteger(v));
}

function isCallId(v: unknown): boolean {
  return typeof v === 'string' && v.length >= 1 && v.length <= 64;
}

/** A JSON object with no own `__proto__` key (zod's record would not copy that one as it is). */
function isBody(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Object.prototype.hasOwnProperty.call(v, '__proto__');
}

/** Every key of `o` is one of `keys` (JSON.parse makes only own, enumerable, string keys). */
function onlyKeys(o: Obj, keys: ReadonlySet<string>): boolean {
  for (const k in o) if (!keys.has(k)) return false;
  return true;
}
