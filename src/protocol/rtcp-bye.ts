import { isRtcp } from './rtp';

/**
 * RTCP BYE (RFC 3550 §6.6): one SSRC leaving, with a short reason. parley sends it when a call
 * is hung up, over the media path, so the hang-up reaches the peer when the server cannot carry
 * it (away, or restarted and ignorant of the call). Reasons are `hangup` or `failed:<cause>`.
 */
const RTCP_BYE = 203;
const MAX_REASON = 64;

export function encodeBye(ssrc: number, reason: string): Buffer {
  const text = Buffer.from(reason.slice(0, MAX_REASON), 'ascii');
  // Header, SSRC, then a length-prefixed reason padded to a 32-bit boundary.
  const words = 2 + Math.ceil((1 + text.length) / 4);
  const buf = Buffer.alloc(words * 4);
  buf[0] = (2 << 6) | 1; // version 2, no padding, one SSRC
  buf[1] = RTCP_BYE;
  buf.writeUInt16BE(words - 1, 2);
  buf.writeUInt32BE(ssrc >>> 0, 4);
  buf[8] = text.length;
  text.copy(buf, 9);
  return buf;
}

/** The SSRC and reason of a well-formed single-source BYE; null for anything else. */
export function decodeBye(buf: Buffer): { ssrc: number; reason: string } | null {
  if (!isRtcp(buf) || buf[1] !== RTCP_BYE || (buf[0] & 0x1f) !== 1 || buf.length > 256) return null;
  const bytes = (buf.readUInt16BE(2) + 1) * 4;
  if (bytes !== buf.length) return null;
  const ssrc = buf.readUInt32BE(4);
  if (buf.length === 8) return { ssrc, reason: '' };
  const n = buf[8];
  if (9 + n > buf.length || n > MAX_REASON) return null;
  const reason = buf.toString('latin1', 9, 9 + n);
  // Only printable ASCII travels on as a reason.
  return { ssrc, reason: /^[\x20-\x7e]*$/.test(reason) ? reason : '' };
}
