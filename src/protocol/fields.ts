import { jsonBytes } from './json-bounds';
import { MAX_BODY_BYTES, MAX_REQ_CHARS } from './limits';
import { s } from './schema';

/** Fields many messages share (signaling.ts, rooms.ts). */

/** A request id, echoed in the reply: a short string or an integer. */
export const req = s.union([s.string().max(MAX_REQ_CHARS), s.number().int()]).optional();
/** Names are checked for shape by the server (to answer `bad_name`), so any string is accepted here. */
export const name = s.string().max(256);

/**
 * Text this short cannot hold a body over MAX_BODY_BYTES (16 KiB) however it is written:
 * serialising parsed JSON grows a text only through numbers (`9e20`, 4 characters, becomes 21),
 * at most 5.25 bytes a character, and 3000 × 5.25 = 15,750. Longer lines have their bodies measured.
 */
export const SHORT_LINE_CHARS = 3000;

/**
 * Offer/answer/candidate bodies: any JSON object, opaque to the server beyond its size in UTF-8
 * bytes. Its depth was bounded before parsing (see parseWith), so serialising it cannot overflow.
 */
export const body = s.anyObject().refine((v, ctx) => (ctx.sourceChars ?? Infinity) <= SHORT_LINE_CHARS || jsonBytes(v) <= MAX_BODY_BYTES, {
  message: `larger than ${MAX_BODY_BYTES} bytes`,
  tooLarge: true,
});
