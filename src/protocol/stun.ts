import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * STUN messages (RFC 8489, formerly 5389) as parley uses them: Binding requests to the server
 * for a server-reflexive address, ICE connectivity checks (RFC 8445 §7) authenticated with
 * short-term credentials (USERNAME + MESSAGE-INTEGRITY, FINGERPRINT), and TURN (RFC 8656)
 * requests and indications with long-term credentials (REALM, NONCE). Every byte is hostile:
 * the parser bounds the message, walks attributes within its declared length, and reads only
 * the attributes it knows, each at its exact size.
 */
export const STUN_MAGIC_COOKIE = 0x2112a442;
const HEADER_BYTES = 20;
/** Nothing parley sends or expects is larger; bigger datagrams are not STUN for us. */
export const STUN_MAX_BYTES = 548;
/**
 * TURN's Send and Data indications carry a media packet: up to a 20 ms L16 frame with one
 * redundant frame (RFC 2198), 3.9 KB, plus the STUN framing. Nothing larger is relayed.
 */
export const TURN_MAX_BYTES = 4096;
const FINGERPRINT_XOR = 0x5354554e;

export const STUN_BINDING_REQUEST = 0x0001;
export const STUN_BINDING_SUCCESS = 0x0101;
export const STUN_BINDING_ERROR = 0x0111;

/** TURN methods (RFC 8656 §17); a message type is the method plus its class bits. */
export const TURN_METHOD = { ALLOCATE: 0x003, REFRESH: 0x004, SEND: 0x006, DATA: 0x007, CREATE_PERMISSION: 0x008, CHANNEL_BIND: 0x009 } as const;
export const STUN_CLASS = { REQUEST: 0x0000, INDICATION: 0x0010, SUCCESS: 0x0100, ERROR: 0x0110 } as const;
export type StunClass = keyof typeof STUN_CLASS;

/** The message type of `method` (below 0x10, as every parley method is) in `cls`. */
export function stunType(method: number, cls: StunClass): number {
  return method | STUN_CLASS[cls];
}

export function methodOf(type: number): number {
  return (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
}

export function classOf(type: number): StunClass {
  const bits = type & 0x0110;
  return bits === 0 ? 'REQUEST' : bits === 0x0010 ? 'INDICATION' : bits === 0x0100 ? 'SUCCESS' : 'ERROR';
}

/** REQUESTED-TRANSPORT's protocol number for UDP, the only one parley relays. */
export const TRANSPORT_UDP = 17;

const ATTR = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  CHANNEL_NUMBER: 0x000c,
  LIFETIME: 0x000d,
  XOR_PEER_ADDRESS: 0x0012,
  DATA: 0x0013,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_TRANSPORT: 0x0019,
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
  /** ERROR-CODE's reason phrase, on output only (at most 128 characters). */
  errorReason?: string;
  // TURN (RFC 8656):
  realm?: string;
  nonce?: string;
  /** Seconds. */
  lifetime?: number;
  /** The protocol number asked for (17 = UDP). */
  requestedTransport?: number;
  /** 0x4000–0x4FFF. */
  channelNumber?: number;
  /** Peers named in the message (CreatePermission may name several); IPv4 only. */
  xorPeerAddresses?: { ip: string; port: number }[];
  xorRelayedAddress?: { ip: string; port: number };
  data?: Buffer;
}

/** How many XOR-PEER-ADDRESS attributes one message may carry (CreatePermission). */
const MAX_PEER_ADDRESSES = 8;

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
    const reason = Buffer.from((attrs.errorReason ?? '').slice(0, 128), 'utf8');
    const v = Buffer.alloc(4 + reason.length);
    v.writeUInt8(Math.floor(attrs.errorCode / 100), 2);
    v.writeUInt8(attrs.errorCode % 100, 3);
    reason.copy(v, 4);
    parts.push(attribute(ATTR.ERROR_CODE, v));
  }
  if (attrs.realm !== undefined) parts.push(attribute(ATTR.REALM, Buffer.from(attrs.realm, 'utf8')));
  if (attrs.nonce !== undefined) parts.push(attribute(ATTR.NONCE, Buffer.from(attrs.nonce, 'utf8')));
  if (attrs.lifetime !== undefined) parts.push(attribute(ATTR.LIFETIME, u32(attrs.lifetime)));
  if (attrs.requestedTransport !== undefined) parts.push(attribute(ATTR.REQUESTED_TRANSPORT, Buffer.from([attrs.requestedTransport, 0, 0, 0])));
  if (attrs.channelNumber !== undefined) parts.push(attribute(ATTR.CHANNEL_NUMBER, Buffer.from([attrs.channelNumber >> 8, attrs.channelNumber & 0xff, 0, 0])));
  for (const peer of attrs.xorPeerAddresses ?? []) parts.push(attribute(ATTR.XOR_PEER_ADDRESS, xorAddress(peer.ip, peer.port)));
  if (attrs.xorRelayedAddress) parts.push(attribute(ATTR.XOR_RELAYED_ADDRESS, xorAddress(attrs.xorRelayedAddress.ip, attrs.xorRelayedAddress.port)));
  if (attrs.data !== undefined) parts.push(attribute(ATTR.DATA, attrs.data));
  if (attrs.xorMappedAddress) parts.push(attribute(ATTR.XOR_MAPPED_ADDRESS, xorAddress(attrs.xorMappedAddress.ip, attrs.xorMappedAddress.port)));
  if (attrs.priority !== undefined) parts.push(attribute(ATTR.PRIORITY, u32(attrs.priority)));
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
 * `maxBytes` (STUN_MAX_BYTES unless TURN's larger indications are expected): a declared length
 * that is not the datagram's, an attribute running past the end, a known attribute of the wrong
 * size, a FINGERPRINT that does not match or is not last.
 */
export function parseStun(packet: Buffer, maxBytes = STUN_MAX_BYTES): StunMessage | null {
  if (!looksLikeStun(packet) || packet.length > maxBytes) return null;
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
      case ATTR.REALM:
      case ATTR.NONCE:
        // RFC 8489 §14.9–10: fewer than 128 characters, at most 763 bytes.
        if (len > 763) return null;
        if (type === ATTR.REALM) msg.realm = value.toString('utf8');
        else msg.nonce = value.toString('utf8');
        break;
      case ATTR.LIFETIME:
        if (len !== 4) return null;
        msg.lifetime = value.readUInt32BE(0);
        break;
      case ATTR.REQUESTED_TRANSPORT:
        if (len !== 4) return null;
        msg.requestedTransport = value[0];
        break;
      case ATTR.CHANNEL_NUMBER:
        if (len !== 4) return null;
        msg.channelNumber = value.readUInt16BE(0);
        break;
      case ATTR.XOR_PEER_ADDRESS:
        if (len !== 8 && len !== 20) return null;
        if ((msg.xorPeerAddresses ??= []).length >= MAX_PEER_ADDRESSES) return null;
        // An IPv6 peer is kept as an unusable address, so it is refused rather than ignored.
        msg.xorPeerAddresses.push(value[1] === 0x01 && len === 8 ? unxorAddress(value) : { ip: '::', port: 0 });
        break;
      case ATTR.XOR_RELAYED_ADDRESS:
        if (len === 8 && value[1] === 0x01) msg.xorRelayedAddress = unxorAddress(value);
        break;
      case ATTR.DATA:
        msg.data = value;
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

// ---- TURN ChannelData (RFC 8656 §12.4) ------------------------------------------------------

export const CHANNEL_MIN = 0x4000;
export const CHANNEL_MAX = 0x4fff;

/** RFC 7983: a first byte of 64–79 is TURN ChannelData. */
export function looksLikeChannelData(packet: Buffer): boolean {
  return packet.length >= 4 && packet[0] >= 0x40 && packet[0] <= 0x4f;
}

/** The 4-byte header (channel, length) and the payload; over UDP no padding is needed. */
export function encodeChannelData(channel: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt16BE(channel, 0);
  out.writeUInt16BE(payload.length, 2);
  payload.copy(out, 4);
  return out;
}

/**
 * The channel and its payload (a view, not a copy), or null when the datagram is not
 * ChannelData: a channel outside 0x4000–0x4FFF, or a declared length past its end. Padding
 * after the payload (a TCP habit some servers keep over UDP) is ignored.
 */
export function parseChannelData(packet: Buffer): { channel: number; payload: Buffer } | null {
  if (!looksLikeChannelData(packet) || packet.length > TURN_MAX_BYTES) return null;
  const length = packet.readUInt16BE(2);
  if (4 + length > packet.length || packet.length - 4 - length > 3) return null;
  return { channel: packet.readUInt16BE(0), payload: packet.subarray(4, 4 + length) };
}

/** The long-term credential key (RFC 8489 §9.2.2): MD5 of `username:realm:password`. */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest();
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

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
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
