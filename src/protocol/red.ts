/**
 * Redundant audio data, RFC 2198: one RTP payload carrying the current frame (the primary)
 * and copies of earlier frames, so a single lost packet is rebuilt exactly from the next.
 * Redundant blocks come first, oldest first; each header gives its payload type, how far
 * its timestamp lies behind the RTP header's, and its length.
 */

export interface RedBlock {
  payloadType: number;
  /** RTP timestamp units behind the packet's timestamp; 0 for the primary. */
  timestampOffset: number;
  data: Buffer;
}

export const RED_MAX_TIMESTAMP_OFFSET = 0x3fff;
export const RED_MAX_BLOCK_BYTES = 0x3ff;

/** Whether a frame of this size can travel as a redundant block (10-bit length field). */
export function fitsRedBlock(bytes: number): boolean {
  return bytes <= RED_MAX_BLOCK_BYTES;
}

/** Encodes `redundant` (oldest first) followed by `primary`. Blocks that cannot be described are left out. */
export function encodeRed(primary: { payloadType: number; data: Buffer }, redundant: RedBlock[]): Buffer {
  const blocks = redundant.filter(
    (b) => b.timestampOffset > 0 && b.timestampOffset <= RED_MAX_TIMESTAMP_OFFSET && fitsRedBlock(b.data.length),
  );
  const headerBytes = blocks.length * 4 + 1;
  const total = headerBytes + blocks.reduce((n, b) => n + b.data.length, 0) + primary.data.length;
  const buf = Buffer.allocUnsafe(total);
  let h = 0;
  for (const b of blocks) {
    // F=1 | PT(7) | timestamp offset(14) | block length(10)
    buf[h] = 0x80 | (b.payloadType & 0x7f);
    buf.writeUIntBE((b.timestampOffset << 10) | b.data.length, h + 1, 3);
    h += 4;
  }
  buf[h] = primary.payloadType & 0x7f;
  let d = headerBytes;
  for (const b of blocks) d += b.data.copy(buf, d);
  primary.data.copy(buf, d);
  return buf;
}

/** Decodes a RED payload into its blocks, oldest first, primary last; null if malformed. */
export function decodeRed(buf: Buffer): RedBlock[] | null {
  const headers: { payloadType: number; timestampOffset: number; length: number }[] = [];
  let h = 0;
  for (;;) {
    if (h >= buf.length) return null;
    if ((buf[h] & 0x80) === 0) break;
    if (h + 4 > buf.length) return null;
    const rest = buf.readUIntBE(h + 1, 3);
    headers.push({ payloadType: buf[h] & 0x7f, timestampOffset: rest >> 10, length: rest & 0x3ff });
    h += 4;
  }
  const primaryType = buf[h] & 0x7f;
  let d = h + 1;
  const blocks: RedBlock[] = [];
  for (const hd of headers) {
    if (d + hd.length > buf.length) return null;
    blocks.push({ payloadType: hd.payloadType, timestampOffset: hd.timestampOffset, data: buf.subarray(d, d + hd.length) });
    d += hd.length;
  }
  blocks.push({ payloadType: primaryType, timestampOffset: 0, data: buf.subarray(d) });
  return blocks;
}
