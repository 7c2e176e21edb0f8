import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * STUN messages (RFC 8489, formerly 5389) as parley uses them: Binding requests to the server
 * for a server-reflexive address, and ICE connectivity checks (RFC 8445 §7) authenticated with
 * short-term credentials (USERNAME + MESSAGE-INTEGRITY, FINGERPRINT). Every byte is hostile:
 * the parser bounds the message, walks attributes within its declared length, and reads only
 * the attributes it knows, each at its exact size.
 */
export const STUN_MAGIC_COOKIE = 0x2112a442;
const HEADER_BYTES = 20;
/** Nothing parley sends or expects is larger; bigger datagrams are not STUN for us. */
export const STUN_MAX_BYTES = 548;
const FINGERPRINT_XOR = 0x5354554e;

export const STUN_BINDING_REQUEST = 0x0001;
export const STUN_BINDING_SUCCESS = 0x0101;
export const STUN_BINDING_ERROR = 0x0111;

const ATTR = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  XOR_MAPPED_ADDRESS: 0x0020,
  PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025,
  FINGERPRINT: 0x8028,
  ICE_CONTROLLED: 0x8029,
  ICE_CONTROLLING: 0x802a,
} as const;

/** The attributes parley reads and writes; the rest are skipped on input. */
export interface StunAttributes {
  username?: string;
  xorMappedAddress?: { ip: string; port: number };
  priority?: number;
  useCandidate?: boolean;
  /** ICE-CONTROLLING / ICE-CONTROLLED: the sender's role and its tie-breaker. */
  iceControlling?: bigint;
  iceControlled?: bigint;
  errorCode?: number;
}

export interface StunMessage extends StunAttributes {
  type: number;
  transactionId: Buffer;
  /** Offset of MESSAGE-INTEGRITY, when present: what verifyIntegrity needs. */
  integrityAt?: number;
  hasFingerprint: boolean;
}

/** RFC 7983: a first byte of 0–3, then the magic cookie. */
export function looksLikeStun(packet: Buffer): boolean {
  return packet.length >= HEADER_BYTES && packet[0] < 4 && packet.readUInt32BE(4) === STUN_MAGIC_COOKIE;
}

/**
 * Encodes a message; with `key`, MESSAGE-INTEGRITY (HMAC-SHA1) is added, and FINGERPRINT
 * always closes it, so a check can be told from RTP and other STUN users cheaply.
 */
export function encodeStun(type: number, transactionId: Buffer, attrs: StunAttributes, key?: Buffer): Buffer {
  if (transactionId.length !== 12) throw new Error('a STUN transaction id is 12 bytes');
  const parts: Buffer[] = [];
  if (attrs.username !== undefined) parts.push(attribute(ATTR.USERNAME, Buffer.from(attrs.username, 'utf8')));
  if (attrs.errorCode !== undefined) {
    const v = Buffer.alloc(4);
    v.writeUInt8(Math.floor(attrs.errorCode / 100), 2);
    v.writeUInt8(attrs.errorCode % 100, 3);
    parts.push(attribute(ATTR.ERROR_CODE, v));
  }
  if (attrs.xorMappedAddress) parts.push(attribute(ATTR.XOR_MAPPED_ADDRESS, xorAddress(attrs.xorMappedAddress.ip, attrs.xorMappedAddress.port)));
  if (attrs.priority !== undefined) {
    const v = Buffer.alloc(4);
    v.writeUInt32BE(attrs.priority >>> 0);
    parts.push(attribute(ATTR.PRIORITY, v));
  }
  if (attrs.useCandidate) parts.push(attribute(ATTR.USE_CANDIDATE, Buffer.alloc(0)));
  if (attrs.iceControlling !== undefined) parts.push(attribute(ATTR.ICE_CONTROLLING, u64(attrs.iceControlling)));
  if (attrs.iceControlled !== undefined) parts.push(attribute(ATTR.ICE_CONTROLLED, u64(attrs.iceControlled)));
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(type, 0);
  header.writeUInt32BE(STUN_MAGIC_COOKIE, 4);
  transactionId.copy(header, 8);
  let msg = Buffer.concat([header, ...parts]);
  if (key) {
    // The length covers MESSAGE-INTEGRITY itself while its HMAC is computed (RFC 8489 §14.5).
    msg.writeUInt16BE(msg.length - HEADER_BYTES + 24, 2);
    const mac = createHmac('sha1', key).update(msg).digest();
    msg = Buffer.concat([msg, attribute(ATTR.MESSAGE_INTEGRITY, mac)]);
  }
  msg.writeUInt16BE(msg.length - HEADER_BYTES + 8, 2);
  const fp = Buffer.alloc(4);
  fp.writeUInt32BE((crc32(msg) ^ FINGERPRINT_XOR) >>> 0);
  return Buffer.concat([msg, attribute(ATTR.FINGERPRINT, fp)]);
}

/**
 * The message, or null when the datagram is not a well-formed STUN message of at most
 * STUN_MAX_BYTES: a declared length that is not the datagram's, an attribute running past the
 * end, a known attribute of the wrong size, a FINGERPRINT that does not match or is not last.
 */
export function parseStun(packet: Buffer): StunMessage | null {
  if (!looksLikeStun(packet) || packet.length > STUN_MAX_BYTES) return null;
  const length = packet.readUInt16BE(2);
  if (length % 4 !== 0 || HEADER_BYTES + length !== packet.length) return null;
  const msg: StunMessage = { type: packet.readUInt16BE(0), transactionId: Buffer.from(packet.subarray(8, 20)), hasFingerprint: false };
  let off = HEADER_BYTES;
  while (off < packet.length) {
    if (off + 4 > packet.length || msg.hasFingerprint) return null;
    const type = packet.readUInt16BE(off);
    const len = packet.readUInt16BE(off + 2);
    const start = off + 4;
    const end = start + len;
    if (end > packet.length) return null;
    const value = packet.subarray(start, end);
    // After MESSAGE-INTEGRITY only FINGERPRINT counts (RFC 8489 §14.5).
    if (msg.integrityAt !== undefined && type !== ATTR.FINGERPRINT) {
      off = end + pad(len);
      continue;
    }
    switch (type) {
      case ATTR.USERNAME:
        if (len > 513) return null;
        msg.username = value.toString('utf8');
        break;
      case ATTR.MESSAGE_INTEGRITY:
        if (len !== 20) return null;
        msg.integrityAt = off;
        break;
      case ATTR.ERROR_CODE:
        if (len < 4) return null;
        msg.errorCode = (value[2] & 7) * 100 + value[3];
        break;
      case ATTR.XOR_MAPPED_ADDRESS:
        if (len === 8 && value[1] === 0x01) msg.xorMappedAddress = unxorAddress(value);
        break;
      case ATTR.PRIORITY:
        if (len !== 4) return null;
        msg.priority = value.readUInt32BE(0);
        break;
      case ATTR.USE_CANDIDATE:
        if (len !== 0) return null;
        msg.useCandidate = true;
        break;
      case ATTR.ICE_CONTROLLING:
      case ATTR.ICE_CONTROLLED:
        if (len !== 8) return null;
        if (type === ATTR.ICE_CONTROLLING) msg.iceControlling = value.readBigUInt64BE(0);
        else msg.iceControlled = value.readBigUInt64BE(0);
        break;
      case ATTR.FINGERPRINT: {
        if (len !== 4 || end !== packet.length) return null;
        const copy = Buffer.from(packet.subarray(0, off));
        if (((crc32(copy) ^ FINGERPRINT_XOR) >>> 0) !== value.readUInt32BE(0)) return null;
        msg.hasFingerprint = true;
        break;
      }
    }
    off = end + pad(len);
  }
  return off === packet.length ? msg : null;
}

/** Whether the message's MESSAGE-INTEGRITY is the HMAC-SHA1 of its bytes under `key`. */
export function verifyIntegrity(packet: Buffer, msg: StunMessage, key: Buffer): boolean {
  const at = msg.integrityAt;
  if (at === undefined) return false;
  const signed = Buffer.from(packet.subarray(0, at));
  signed.writeUInt16BE(at - HEADER_BYTES + 24, 2);
  const mac = createHmac('sha1', key).update(signed).digest();
  return timingSafeEqual(mac, packet.subarray(at + 4, at + 24));
}

// ---- the plain Binding exchange with a STUN server ------------------------------------------

export function encodeBindingRequest(transactionId: Buffer): Buffer {
  return encodeStun(STUN_BINDING_REQUEST, transactionId, {});
}

/** The transaction id of a Binding request (without credentials), or null when the packet is not one. */
export function parseBindingRequest(packet: Buffer): Buffer | null {
  const msg = parseStun(packet);
  return msg && msg.type === STUN_BINDING_REQUEST ? msg.transactionId : null;
}

export function encodeBindingSuccess(transactionId: Buffer, address: string, port: number): Buffer {
  return encodeStun(STUN_BINDING_SUCCESS, transactionId, { xorMappedAddress: { ip: address, port } });
}

/** The reflexive address in a Binding success response, or null. */
export function parseBindingSuccess(packet: Buffer): { transactionId: Buffer; address: string; port: number } | null {
  const msg = parseStun(packet);
  if (!msg || msg.type !== STUN_BINDING_SUCCESS || !msg.xorMappedAddress) return null;
  return { transactionId: msg.transactionId, address: msg.xorMappedAddress.ip, port: msg.xorMappedAddress.port };
}

// ---- encoding helpers ---------------------------------------------------------------------

function pad(len: number): number {
  return (4 - (len % 4)) % 4;
}

function attribute(type: number, value: Buffer): Buffer {
  const out = Buffer.alloc(4 + value.length + pad(value.length));
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(value.length, 2);
  value.copy(out, 4);
  return out;
}

function u64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt.asUintN(64, v));
  return b;
}

function xorAddress(ip: string, port: number): Buffer {
  const octets = ip.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !(Number.isInteger(o) && o >= 0 && o <= 255))) throw new Error(`not an IPv4 address: ${ip}`);
  const v = Buffer.alloc(8);
  v.writeUInt8(0x01, 1);
  v.writeUInt16BE((port ^ (STUN_MAGIC_COOKIE >>> 16)) & 0xffff, 2);
  const n = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  v.writeUInt32BE((n ^ STUN_MAGIC_COOKIE) >>> 0, 4);
  return v;
}

function unxorAddress(v: Buffer): { ip: string; port: number } {
  const port = v.readUInt16BE(2) ^ (STUN_MAGIC_COOKIE >>> 16);
  const n = (v.readUInt32BE(4) ^ STUN_MAGIC_COOKIE) >>> 0;
  return { ip: [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'), port };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309) as FINGERPRINT uses it; zlib.crc32 is not in every Node 20. */
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
