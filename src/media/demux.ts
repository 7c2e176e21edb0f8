import { isRtcp } from '../protocol/rtp';

/**
 * What a datagram on the media port is, by its first byte (RFC 7983 §7): STUN 0–3,
 * DTLS 20–63, RTP and RTCP 128–191 (RTCP by its packet type, RFC 5761).
 */
export type PacketKind = 'stun' | 'dtls' | 'rtp' | 'rtcp' | 'unknown';

export function classifyPacket(buf: Buffer): PacketKind {
  if (buf.length === 0) return 'unknown';
  const b = buf[0];
  if (b <= 3) return 'stun';
  if (b >= 20 && b <= 63) return 'dtls';
  if (b >= 128 && b <= 191) return isRtcp(buf) ? 'rtcp' : 'rtp';
  return 'unknown';
}
