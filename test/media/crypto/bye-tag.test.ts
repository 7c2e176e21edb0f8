import { randomBytes } from 'node:crypto';
import { signedByeReason, verifiedByeReason } from '../../../src/media/crypto/bye-tag';

const key = { key: randomBytes(16), salt: randomBytes(12) };

test('a BYE reason signed under a key verifies under it, for that SSRC and reason only', () => {
  const text = signedByeReason(key, 1234, 'failed:no_path');
  expect(text.length).toBeLessThanOrEqual(64);
  expect(verifiedByeReason(key, 1234, text)).toBe('failed:no_path');
  expect(verifiedByeReason(key, 1235, text)).toBeNull();
  expect(verifiedByeReason({ key: randomBytes(16), salt: key.salt }, 1234, text)).toBeNull();
  expect(verifiedByeReason(key, 1234, text.replace('failed:no_path', 'hangup'))).toBeNull();
  expect(verifiedByeReason(key, 1234, 'hangup')).toBeNull();
  expect(verifiedByeReason(key, 1234, 'hangup#')).toBeNull();
  expect(verifiedByeReason(key, 1234, 'hangup#!!!')).toBeNull();
});
