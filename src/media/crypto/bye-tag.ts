import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DirectionKey } from './srtp-gcm';

/**
 * A media-path BYE carries, after its reason, a tag only the two parties can make: HMAC-SHA256
 * under the sending direction's SRTP key and salt, over the sender's SSRC and the reason,
 * truncated to 128 bits. So knowing a peer's address and SSRC is not enough to end its call; a
 * BYE is sent once per call, so a replay can only repeat a hang-up that happened.
 */
const TAG_BYTES = 16;
const SEPARATOR = '#';

function tag(key: DirectionKey, ssrc: number, reason: string): Buffer {
  const ssrcBytes = Buffer.alloc(4);
  ssrcBytes.writeUInt32BE(ssrc >>> 0);
  return createHmac('sha256', Buffer.concat([key.key, key.salt]))
    .update('parley-bye\0')
    .update(ssrcBytes)
    .update(reason, 'ascii')
    .digest()
    .subarray(0, TAG_BYTES);
}

/** The BYE reason text to send: `reason#tag`. */
export function signedByeReason(key: DirectionKey, ssrc: number, reason: string): string {
  return `${reason}${SEPARATOR}${tag(key, ssrc, reason).toString('base64url')}`;
}

/** The reason of a BYE whose tag is right under `key` (the peer's sending key); null otherwise. */
export function verifiedByeReason(key: DirectionKey, ssrc: number, text: string): string | null {
  const at = text.lastIndexOf(SEPARATOR);
  if (at < 0) return null;
  const reason = text.slice(0, at);
  const given = Buffer.from(text.slice(at + 1), 'base64url');
  const expected = tag(key, ssrc, reason);
  return given.length === expected.length && timingSafeEqual(given, expected) ? reason : null;
}
