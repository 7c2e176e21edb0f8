/**
 * RTP (RFC 3550) fixed header without CSRCs or extensions on send; on receive, CSRCs,
 * a header extension and padding are skipped so any standard stream parses.
 * Also the small RTCP APP packets (RFC 3550 §6.7) parley uses as connectivity checks
 * and round-trip probes: RTCP shares RTP's first-byte range (RFC 7983) and is told
 * apart by its packet type (RFC 5761).
 */

export const RTP_VERSION = 2;
export const RTP_HEADER_BYTES = 12;

export interface RtpPacket {
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  marker: boolean;
  payload: Buffer;
}

export function encodeRtp(p: RtpPacket): Buffer {
  const buf = Buffer.allocUnsafe(RTP_HEADER_BYTES + p.payload.length);
  buf[0] = RTP_VERSION << 6;
  buf[1] = (p.marker ? 0x80 : 0) | (p.payloadType & 0x7f);
  buf.writeUInt16BE(p.sequence & 0xffff, 2);
  buf.writeUInt32BE(p.timestamp >>> 0, 4);
  buf.writeUInt32BE(p.ssrc >>> 0, 8);
  p.payload.copy(buf, RTP_HEADER_BYTES);
  return buf;
}

/** Parses an RTP packet; null when it is not a well-formed version-2 RTP packet. */
export function decodeRtp(buf: Buffer): RtpPacket | null {
  if (buf.length < RTP_HEADER_BYTES || buf[0] >> 6 !== RTP_VERSION) return null;
  const padding = (buf[0] & 0x20) !== 0;
  const extension = (buf[0] & 0x10) !== 0;
  const csrcCount = buf[0] & 0x0f;
  let offset = RTP_HEADER_BYTES + 4 * csrcCount;
  if (extension) {
    if (buf.length < offset + 4) return null;
    offset += 4 + 4 * buf.readUInt16BE(offset + 2);
  }
  let end = buf.length;
  if (padding) {
    const pad = buf[buf.length - 1];
    if (pad === 0) return null;
    end -= pad;
  }
  if (end < offset) return null;
  return {
    payloadType: buf[1] & 0x7f,
    marker: (buf[1] & 0x80) !== 0,
    sequence: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    payload: buf.subarray(offset, end),
  };
}

/** RTCP packet types occupy 192–223 in the second byte (RFC 5761 §4). */
export function isRtcp(buf: Buffer): boolean {
  return buf.length >= 8 && buf[0] >> 6 === RTP_VERSION && buf[1] >= 192 && buf[1] <= 223;
}

const RTCP_APP = 204;
const PROBE_NAME = 'PRLY';
const PROBE_BYTES = 24;

/**
 * A probe: `ping` asks the peer to echo `sentAt`; `pong` is that echo. Pings sent before a
 * path is chosen double as connectivity checks: the first candidate that answers wins.
 */
export interface Probe {
  kind: 'ping' | 'pong';
  ssrc: number;
  /** The pinger's clock (ms), echoed unchanged in the pong. */
  sentAt: number;
}

export function encodeProbe(p: Probe): Buffer {
  const buf = Buffer.alloc(PROBE_BYTES);
  buf[0] = (RTP_VERSION << 6) | (p.kind === 'ping' ? 0 : 1); // subtype
  buf[1] = RTCP_APP;
  buf.writeUInt16BE(PROBE_BYTES / 4 - 1, 2);
  buf.writeUInt32BE(p.ssrc >>> 0, 4);
  buf.write(PROBE_NAME, 8, 'ascii');
  buf.writeDoubleBE(p.sentAt, 12);
  return buf;
}

export function decodeProbe(buf: Buffer): Probe | null {
  if (buf.length !== PROBE_BYTES || buf[1] !== RTCP_APP || buf[0] >> 6 !== RTP_VERSION) return null;
  if (buf.toString('ascii', 8, 12) !== PROBE_NAME) return null;
  const subtype = buf[0] & 0x1f;
  if (subtype > 1) return null;
  // A clock reading is finite: NaN or infinity would poison the round-trip time.
  const sentAt = buf.readDoubleBE(12);
  if (!Number.isFinite(sentAt)) return null;
  return { kind: subtype === 0 ? 'ping' : 'pong', ssrc: buf.readUInt32BE(4), sentAt };
}

/** Signed distance from `a` to `b` on a wrapping counter of `bits` bits (bits ≤ 32). */
export function seqDistance(a: number, b: number, bits: 16 | 32): number {
  if (bits === 16) return ((((b - a) & 0xffff) + 0x8000) & 0xffff) - 0x8000;
  return (b - a) | 0;
}
