/**
 * The two STUN messages parley uses (RFC 5389): a Binding request, and the success
 * response carrying XOR-MAPPED-ADDRESS, so a client learns its server-reflexive address.
 */
export const STUN_MAGIC_COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const XOR_MAPPED_ADDRESS = 0x0020;
const HEADER_BYTES = 20;

/** RFC 7983: a first byte of 0–3 is STUN, 128–191 is RTP/RTCP. */
export function looksLikeStun(packet: Buffer): boolean {
  return packet.length >= HEADER_BYTES && packet[0] < 4 && packet.readUInt32BE(4) === STUN_MAGIC_COOKIE;
}

export function encodeBindingRequest(transactionId: Buffer): Buffer {
  if (transactionId.length !== 12) throw new Error('a STUN transaction id is 12 bytes');
  const msg = Buffer.alloc(HEADER_BYTES);
  msg.writeUInt16BE(BINDING_REQUEST, 0);
  msg.writeUInt16BE(0, 2);
  msg.writeUInt32BE(STUN_MAGIC_COOKIE, 4);
  transactionId.copy(msg, 8);
  return msg;
}

/** The transaction id of a Binding request, or null when the packet is not one. */
export function parseBindingRequest(packet: Buffer): Buffer | null {
  if (!looksLikeStun(packet) || packet.readUInt16BE(0) !== BINDING_REQUEST) return null;
  if (packet.readUInt16BE(2) + HEADER_BYTES > packet.length) return null;
  return Buffer.from(packet.subarray(8, 20));
}

export function encodeBindingSuccess(transactionId: Buffer, address: string, port: number): Buffer {
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !(o >= 0 && o <= 255))) throw new Error(`not an IPv4 address: ${address}`);
  const msg = Buffer.alloc(HEADER_BYTES + 12);
  msg.writeUInt16BE(BINDING_SUCCESS, 0);
  msg.writeUInt16BE(12, 2);
  msg.writeUInt32BE(STUN_MAGIC_COOKIE, 4);
  transactionId.copy(msg, 8);
  msg.writeUInt16BE(XOR_MAPPED_ADDRESS, 20);
  msg.writeUInt16BE(8, 22);
  msg.writeUInt8(0, 24);
  msg.writeUInt8(0x01, 25); // IPv4
  msg.writeUInt16BE(port ^ (STUN_MAGIC_COOKIE >>> 16), 26);
  const ip = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  msg.writeUInt32BE((ip ^ STUN_MAGIC_COOKIE) >>> 0, 28);
  return msg;
}

/** The reflexive address in a Binding success response, or null. */
export function parseBindingSuccess(packet: Buffer): { transactionId: Buffer; address: string; port: number } | null {
  if (!looksLikeStun(packet) || packet.readUInt16BE(0) !== BINDING_SUCCESS) return null;
  const end = Math.min(packet.length, HEADER_BYTES + packet.readUInt16BE(2));
  let off = HEADER_BYTES;
  while (off + 4 <= end) {
    const type = packet.readUInt16BE(off);
    const len = packet.readUInt16BE(off + 2);
    if (type === XOR_MAPPED_ADDRESS && len >= 8 && off + 12 <= end && packet[off + 5] === 0x01) {
      const port = packet.readUInt16BE(off + 6) ^ (STUN_MAGIC_COOKIE >>> 16);
      const ip = (packet.readUInt32BE(off + 8) ^ STUN_MAGIC_COOKIE) >>> 0;
      const address = [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join('.');
      return { transactionId: Buffer.from(packet.subarray(8, 20)), address, port };
    }
    off += 4 + len + ((4 - (len % 4)) % 4);
  }
  return null;
}
