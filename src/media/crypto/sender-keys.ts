/**
 * Keys of a room's media (sender keys). Each member has an ephemeral X25519 key for the room,
 * signed by its identity together with the member's name (`MemberKey`, src/protocol/rooms.ts),
 * so the key cannot be shown under another name. (Not with the room id: a creator whose room's
 * id the server mints signs before it knows the id. A key shown in another room gains nothing:
 * what is sealed to it opens only with its private half, and every sealed key names its room.)
 * Each member seals its packets with a sender key of
 * its own (SRTP AES-128-GCM key, salt and the SSRC it sends with) and gives that key to every
 * other member, sealed to each one's X25519 key: the forwarder in the middle copies packets it
 * cannot read, and one member cannot speak as another, whose key it only holds for opening.
 *
 * A sealed sender key is AES-256-GCM under HKDF-SHA256(X25519 secret, label ‖ H(room, from, to,
 * epoch)), with a random nonce and the same context as associated data: from and to in the
 * derivation mean a sealed key cannot be re-addressed to someone else or passed off as another
 * sender's, and the epoch that an old one cannot stand for a newer key.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, randomInt } from 'node:crypto';
import type { MemberKey } from '../../protocol/rooms';
import { verifySignature, type Identity } from './identity';
import type { EphemeralKey } from './key-schedule';
import { SRTP_KEY_BYTES, SRTP_SALT_BYTES, type DirectionKey } from './srtp-gcm';

export type { MemberKey };

/** One member's media key in a room: what it seals with, and the SSRC its packets carry. */
export interface SenderKey extends DirectionKey {
  ssrc: number;
}

/** Who sealed a sender key for whom, in which room, and which of the sender's keys it is. */
export interface SealContext {
  room: string;
  from: string;
  to: string;
  epoch: number;
}

const MEMBER_LABEL = Buffer.from('parley-room-key v1\0');
const SEAL_LABEL = Buffer.from('parley room sender key v1');
const X25519_B64URL = /^[A-Za-z0-9_-]{43}$/;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const PLAIN_BYTES = SRTP_KEY_BYTES + SRTP_SALT_BYTES + 4;
const SEALED_BYTES = NONCE_BYTES + PLAIN_BYTES + TAG_BYTES;

/** What the identity signs: the label, the member's name, the raw X25519 key (fixed length, last). */
function memberKeyMessage(name: string, x25519: string): Buffer {
  return Buffer.concat([MEMBER_LABEL, Buffer.from(name, 'utf8'), Buffer.from(x25519, 'base64url')]);
}

export function signMemberKey(identity: Identity, name: string, x25519: string): MemberKey {
  if (!X25519_B64URL.test(x25519)) throw new RangeError('an X25519 public key is 32 bytes in base64url');
  return { key: x25519, identity: identity.publicKey, sig: identity.sign(memberKeyMessage(name, x25519)).toString('base64url') };
}

/** Whether `m`'s identity signed its X25519 key for the member `name`; false for anything malformed. */
export function verifyMemberKey(m: MemberKey, name: string): boolean {
  if (!X25519_B64URL.test(m.key)) return false;
  return verifySignature(m.identity, memberKeyMessage(name, m.key), Buffer.from(m.sig, 'base64url'));
}

/** A fresh random sender key with a random SSRC. */
export function newSenderKey(): SenderKey {
  return { key: randomBytes(SRTP_KEY_BYTES), salt: randomBytes(SRTP_SALT_BYTES), ssrc: randomInt(0, 2 ** 32 - 1) };
}

/** The context, length-prefixed so no two contexts encode alike. */
function encodeContext(ctx: SealContext): Buffer {
  const field = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    return Buffer.concat([len, b]);
  };
  const epoch = Buffer.alloc(4);
  epoch.writeUInt32BE(ctx.epoch >>> 0);
  return Buffer.concat([field(ctx.room), field(ctx.from), field(ctx.to), epoch]);
}

function sealingKey(secret: Buffer, context: Buffer): Buffer {
  // Hashed so the info stays within HKDF's 1024 bytes whatever the names.
  const info = Buffer.concat([SEAL_LABEL, createHash('sha256').update(context).digest()]);
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), info, 32));
}

function validContext(ctx: SealContext): boolean {
  return Number.isInteger(ctx.epoch) && ctx.epoch >= 0 && ctx.epoch <= 0xffffffff && [ctx.room, ctx.from, ctx.to].every((s) => typeof s === 'string' && Buffer.byteLength(s) <= 0xffff);
}

/** `sk` sealed by `mine` to the member whose X25519 key is `theirX25519` (base64url, 80 characters). */
export function sealSenderKey(mine: EphemeralKey, theirX25519: string, ctx: SealContext, sk: SenderKey): string {
  if (sk.key.length !== SRTP_KEY_BYTES || sk.salt.length !== SRTP_SALT_BYTES) throw new RangeError('a sender key is 16 bytes and its salt 12');
  if (!validContext(ctx)) throw new RangeError('bad sealing context');
  const secret = mine.agree(theirX25519);
  if (!secret) throw new RangeError("the recipient's X25519 key is not usable");
  const context = encodeContext(ctx);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(secret, context), nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(context);
  const ssrc = Buffer.alloc(4);
  ssrc.writeUInt32BE(sk.ssrc >>> 0);
  const body = Buffer.concat([cipher.update(Buffer.concat([sk.key, sk.salt, ssrc])), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url');
}

/** The sender key sealed to `mine` by the member whose X25519 key is `theirX25519`; null on anything wrong. */
export function openSenderKey(mine: EphemeralKey, theirX25519: string, ctx: SealContext, sealed: string): SenderKey | null {
  try {
    if (typeof sealed !== 'string' || !/^[A-Za-z0-9_-]*$/.test(sealed) || !validContext(ctx)) return null;
    const buf = Buffer.from(sealed, 'base64url');
    if (buf.length !== SEALED_BYTES) return null;
    const secret = mine.agree(theirX25519);
    if (!secret) return null;
    const context = encodeContext(ctx);
    const decipher = createDecipheriv('aes-256-gcm', sealingKey(secret, context), buf.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(context);
    decipher.setAuthTag(buf.subarray(SEALED_BYTES - TAG_BYTES));
    const plain = Buffer.concat([decipher.update(buf.subarray(NONCE_BYTES, SEALED_BYTES - TAG_BYTES)), decipher.final()]);
    return {
      key: plain.subarray(0, SRTP_KEY_BYTES),
      salt: plain.subarray(SRTP_KEY_BYTES, SRTP_KEY_BYTES + SRTP_SALT_BYTES),
      ssrc: plain.readUInt32BE(SRTP_KEY_BYTES + SRTP_SALT_BYTES),
    };
  } catch {
    return null;
  }
}
