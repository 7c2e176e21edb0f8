/**
 * From one X25519 exchange to the call's keys. Both sides know, once media starts, the two
 * ephemeral public keys, the two SSRCs and the two ICE ufrags (the server's call id is not
 * known to the caller when it makes its offer), so those, in caller-then-callee order, are the
 * transcript that binds the keys to this call. HKDF-SHA256 (RFC 5869) with the shared secret
 * as input key material and label ‖ transcript as info gives:
 *   - 56 bytes of SRTP keying: caller→callee key (16) and salt (12), then callee→caller;
 *   - 4 bytes for the short authentication string, with both identity keys added to the info.
 */
import { createHash, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type KeyObject } from 'node:crypto';
import type { DirectionKey } from './srtp-gcm';
import { SRTP_KEY_BYTES, SRTP_SALT_BYTES } from './srtp-gcm';
import { sasString } from './sas';

export interface SideFacts {
  /** Ephemeral X25519 public key, base64url. */
  key: string;
  /** Identity public key, base64url. */
  identity: string;
  ssrc: number;
  ufrag: string;
}

export interface CallKeys {
  callerToCallee: DirectionKey;
  calleeToCaller: DirectionKey;
  sas: string;
}

/** A call's ephemeral X25519 key pair: used for one call, then forgotten. */
export class EphemeralKey {
  readonly publicKey: string;
  private readonly privateKey: KeyObject;

  constructor() {
    const pair = generateKeyPairSync('x25519');
    this.privateKey = pair.privateKey;
    this.publicKey = String(pair.publicKey.export({ format: 'jwk' }).x);
  }

  /** The shared secret with `peer` (base64url); null when the peer's key is not usable. */
  agree(peer: string): Buffer | null {
    try {
      const pub = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: peer }, format: 'jwk' });
      const secret = diffieHellman({ privateKey: this.privateKey, publicKey: pub });
      // A low-order point gives all zeros (RFC 7748 §6.1): such a "key" would let anyone in.
      return secret.every((b) => b === 0) ? null : secret;
    } catch {
      return null;
    }
  }
}

function transcript(caller: SideFacts, callee: SideFacts): Buffer {
  const side = (s: SideFacts) => {
    const u = Buffer.from(s.ufrag, 'utf8');
    const ssrc = Buffer.alloc(4);
    ssrc.writeUInt32BE(s.ssrc >>> 0);
    return Buffer.concat([Buffer.from(s.key, 'base64url'), ssrc, Buffer.from([u.length]), u]);
  };
  return Buffer.concat([side(caller), side(callee)]);
}

export function deriveCallKeys(secret: Buffer, caller: SideFacts, callee: SideFacts): CallKeys {
  // The transcript is hashed so the info stays short whatever the ufrags (HKDF info ≤ 1024 bytes).
  const t = createHash('sha256').update(transcript(caller, callee)).digest();
  const okm = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), Buffer.concat([Buffer.from('parley srtp v1'), t]), 2 * (SRTP_KEY_BYTES + SRTP_SALT_BYTES)));
  const dir = (at: number): DirectionKey => ({
    key: okm.subarray(at, at + SRTP_KEY_BYTES),
    salt: okm.subarray(at + SRTP_KEY_BYTES, at + SRTP_KEY_BYTES + SRTP_SALT_BYTES),
  });
  const ids = Buffer.concat([Buffer.from(caller.identity, 'base64url'), Buffer.from(callee.identity, 'base64url')]);
  const sas = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), Buffer.concat([Buffer.from('parley sas v1'), t, ids]), 4));
  return { callerToCallee: dir(0), calleeToCaller: dir(SRTP_KEY_BYTES + SRTP_SALT_BYTES), sas: sasString(sas) };
}
