/**
 * A user's long-term identity: an Ed25519 key pair. It signs each call's ephemeral media key,
 * so the peer (and the short authentication string) can tie the call to this identity.
 * Public keys travel as the 32 raw bytes in base64url (43 characters).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

const B64URL_32 = /^[A-Za-z0-9_-]{43}$/;

export class Identity {
  /** The public key, raw, base64url. */
  readonly publicKey: string;

  private constructor(private readonly privateKey: KeyObject) {
    const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
    this.publicKey = String(jwk.x);
  }

  static generate(): Identity {
    return new Identity(generateKeyPairSync('ed25519').privateKey);
  }

  /** From a PKCS#8 PEM private key; throws when it is not an Ed25519 one. */
  static fromPem(pem: string): Identity {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`an identity key is Ed25519, not ${key.asymmetricKeyType}`);
    return new Identity(key);
  }

  toPem(): string {
    return String(this.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  }

  sign(message: Buffer): Buffer {
    return sign(null, message, this.privateKey);
  }

  get fingerprint(): string {
    return fingerprintOf(this.publicKey);
  }
}

/** An Ed25519 public key from its base64url form, or null when it is not one. */
export function publicKeyOf(raw: string): KeyObject | null {
  if (!B64URL_32.test(raw)) return null;
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw }, format: 'jwk' });
  } catch {
    return null;
  }
}

/** Whether `signature` is `publicKey`'s over `message`; false for anything malformed. */
export function verifySignature(publicKey: string, message: Buffer, signature: Buffer): boolean {
  const key = publicKeyOf(publicKey);
  if (!key || signature.length !== 64) return false;
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** How a key is shown to people, as SSH does: SHA256 of the raw key, base64 without padding. */
export function fingerprintOf(publicKey: string): string {
  const raw = Buffer.from(publicKey, 'base64url');
  return `SHA256:${createHash('sha256').update(raw).digest('base64').replace(/=+$/, '')}`;
}
