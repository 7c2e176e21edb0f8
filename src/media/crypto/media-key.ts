/**
 * The `crypto` member of an offer or answer: the sender's ephemeral X25519 key for this call,
 * its long-term Ed25519 identity key, and the identity's signature over the ephemeral key, the
 * sender's role and the ICE ufrag and SSRC it uses in this call. The ufrag is fresh per call,
 * so a signature cannot be replayed into another call; the role keeps a caller's signature
 * from being reflected back as an answer.
 */
import { s, type Infer } from '../../protocol/schema';
import { verifySignature, type Identity } from './identity';

export const MEDIA_SUITE = 'AEAD_AES_128_GCM';
const b64url = (chars: number) => s.string().length(chars).regex(/^[A-Za-z0-9_-]+$/);

export const mediaKeySchema = s.object({
  /** The SRTP protection profile (RFC 7714); the only one this version speaks. */
  suite: s.literal(MEDIA_SUITE),
  /** Ephemeral X25519 public key, 32 raw bytes in base64url. */
  key: b64url(43),
  /** Long-term Ed25519 identity public key, 32 raw bytes in base64url. */
  identity: b64url(43),
  /** Ed25519 signature (64 bytes, base64url) over signedPart(). */
  sig: b64url(86),
});
export type MediaKey = Infer<typeof mediaKeySchema>;
export type Role = 'caller' | 'callee';

/** What the identity signs: a label, the role, the ephemeral key, the SSRC and the ICE ufrag. */
export function signedPart(role: Role, key: string, ssrc: number, ufrag: string): Buffer {
  const ssrcBytes = Buffer.alloc(4);
  ssrcBytes.writeUInt32BE(ssrc >>> 0);
  const u = Buffer.from(ufrag, 'utf8');
  return Buffer.concat([Buffer.from(`parley-media-key v1 ${role}\0`), Buffer.from(key, 'base64url'), ssrcBytes, Buffer.from([u.length]), u]);
}

export function signMediaKey(identity: Identity, role: Role, key: string, ssrc: number, ufrag: string): MediaKey {
  const sig = identity.sign(signedPart(role, key, ssrc, ufrag)).toString('base64url');
  return { suite: MEDIA_SUITE, key, identity: identity.publicKey, sig };
}

/** Whether the description's signature holds for this role, SSRC and ufrag. */
export function verifyMediaKey(m: MediaKey, role: Role, ssrc: number, ufrag: string): boolean {
  return verifySignature(m.identity, signedPart(role, m.key, ssrc, ufrag), Buffer.from(m.sig, 'base64url'));
}
