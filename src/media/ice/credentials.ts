import { randomBytes } from 'node:crypto';
import { s, type Infer } from '../../protocol/schema';

/**
 * ICE short-term credentials (RFC 8445 §5.3), fresh per call and per side, carried in the offer
 * and the answer: a check's USERNAME is `theirUfrag:ourUfrag` and its MESSAGE-INTEGRITY is keyed
 * with the receiver's password, so only the two parties of this call can make or answer checks.
 */
export interface IceCredentials {
  ufrag: string;
  pwd: string;
}

/** ice-char (RFC 8839): letters, digits, `+` and `/`; at least 24 bits of ufrag, 128 of password. */
const iceChars = /^[A-Za-z0-9+/]+$/;
export const iceCredentialsSchema = s.object({
  ufrag: s.string().min(4).max(32).regex(iceChars),
  pwd: s.string().min(22).max(64).regex(iceChars),
});

export function newIceCredentials(): IceCredentials {
  const chars = (n: number) => randomBytes(n).toString('base64').replace(/=+$/, '');
  return { ufrag: chars(6), pwd: chars(18) };
}
