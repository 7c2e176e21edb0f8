/**
 * The short authentication string: 5 characters of z-base-32 (25 bits, as ZRTP's "B32" SAS
 * renders 20), read aloud by the two people to check that nobody sits between them. A
 * man in the middle has to run two key exchanges, one with each side, and cannot make both
 * yield the same string except by a 1 in 2^25 chance per call.
 */
const ZBASE32 = 'ybndrfg8ejkmcpqxot1uwisza345h769';
export const SAS_CHARS = 5;

/** The first 25 bits of `bytes` (at least 4) as 5 z-base-32 characters. */
export function sasString(bytes: Buffer): string {
  if (bytes.length < 4) throw new RangeError('a SAS needs 4 bytes');
  const bits = bytes.readUInt32BE(0) >>> 7;
  let out = '';
  for (let i = SAS_CHARS - 1; i >= 0; i--) out += ZBASE32[(bits >>> (5 * i)) & 31];
  return out;
}
