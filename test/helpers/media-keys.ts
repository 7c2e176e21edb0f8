/** Fixed media keys for tests that drive one MediaSession by hand, and the peer's sealer. */
import type { MediaKeys } from '../../src/media/crypto/call-security';
import { SrtpSealer } from '../../src/media/crypto/srtp-gcm';

const fill = (n: number, byte: number) => Buffer.alloc(n, byte);

/** The session's keys: it sends with one key and receives with another. */
export const TEST_KEYS: MediaKeys = {
  send: { key: fill(16, 1), salt: fill(12, 2) },
  receive: { key: fill(16, 3), salt: fill(12, 4) },
  sas: 'ybndr',
  peerIdentity: 'A'.repeat(43),
  peerFingerprint: 'SHA256:test',
};

/** What the session's peer seals its packets with (the session's receive key). */
export function peerSealer(): SrtpSealer {
  return new SrtpSealer(TEST_KEYS.receive);
}
