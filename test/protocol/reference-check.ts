import { MAX_REQ_CHARS, SHORT_LINE_CHARS, type ClientMessage } from '../../src/protocol';

/**
 * An independent reading of the requests a call is made of (call, answer, hangup, ping), in their
 * plain form, written field by field from docs/protocol.md: what it accepts, the schemas must
 * accept and return unchanged (the parsed object itself, as it has no field to strip). Anything it
 * is unsure of (an unknown or optional field it does not handle, a `__proto__` key, a line over
 * SHORT_LINE_CHARS) it leaves undecided.
 */
type Obj = Record<string, unknown>;

/** `raw` (JSON.parse of a line, already known to be an object) as a message, or undefined when undecided. */
export function referenceCheck(raw: Obj, chars: number): ClientMessage | undefined {
  if (chars > SHORT_LINE_CHARS || !validReq(raw.req)) return undefined;
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

/** Absent, a string of at most MAX_REQ_CHARS, or a safe integer. */
function validReq(v: unknown): boolean {
  return v === undefined || (typeof v === 'string' ? v.length <= MAX_REQ_CHARS : Number.isSafeInteger(v));
}

function isCallId(v: unknown): boolean {
  return typeof v === 'string' && v.length >= 1 && v.length <= 64;
}

/** A JSON object with no own `__proto__` key (left undecided: a copy would lose it). */
function isBody(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Object.prototype.hasOwnProperty.call(v, '__proto__');
}

/** Every key of `o` is one of `keys` (JSON.parse makes only own, enumerable, string keys). */
function onlyKeys(o: Obj, keys: ReadonlySet<string>): boolean {
  for (const k in o) if (!keys.has(k)) return false;
  return true;
}
