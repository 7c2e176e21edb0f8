/** The key exchange, the signatures on it and the short authentication string. */
import { CallSecurity, isRefusal, type MediaKeys } from '../../../src/media/crypto/call-security';
import { Identity, fingerprintOf } from '../../../src/media/crypto/identity';
import { sasString } from '../../../src/media/crypto/sas';
import { signMediaKey } from '../../../src/media/crypto/media-key';

const alice = Identity.generate();
const bob = Identity.generate();
const callerPlace = { role: 'caller' as const, ssrc: 11, ufrag: 'aaaa' };
const calleePlace = { role: 'callee' as const, ssrc: 22, ufrag: 'bbbb' };

function exchange(callerId = alice, calleeId = bob) {
  const caller = new CallSecurity(callerId);
  const callee = new CallSecurity(calleeId);
  const offer = caller.describe(callerPlace);
  const answer = callee.describe(calleePlace);
  const a = caller.agree(callerPlace, answer, calleePlace) as MediaKeys;
  const b = callee.agree(calleePlace, offer, callerPlace) as MediaKeys;
  return { caller, callee, offer, answer, a, b };
}

test('both sides derive matching keys per direction, different each way, and the same SAS', () => {
  const { a, b } = exchange();
  expect(a.send).toEqual(b.receive);
  expect(a.receive).toEqual(b.send);
  expect(a.send.key.equals(a.receive.key)).toBe(false);
  expect(a.send.salt.equals(a.receive.salt)).toBe(false);
  expect(a.sas).toBe(b.sas);
  expect(a.sas).toMatch(/^[ybndrfg8ejkmcpqxot1uwisza345h769]{5}$/);
  expect(a.peerIdentity).toBe(bob.publicKey);
  expect(b.peerFingerprint).toBe(fingerprintOf(alice.publicKey));
});

test('each call has its own keys and, almost always, its own SAS', () => {
  const one = exchange();
  const two = exchange();
  expect(one.a.send.key.equals(two.a.send.key)).toBe(false);
});

test('a signature does not verify for another SSRC, ufrag or role, nor with a swapped identity', () => {
  const { callee, offer } = exchange();
  expect(isRefusal(callee.agree(calleePlace, offer, { ssrc: 12, ufrag: 'aaaa' }))).toBe(true);
  expect(isRefusal(callee.agree(calleePlace, offer, { ssrc: 11, ufrag: 'aaab' }))).toBe(true);
  expect(callee.agree(calleePlace, { ...offer, identity: Identity.generate().publicKey }, callerPlace)).toMatchObject({ code: 'bad_signature' });
  // The caller's own description reflected back as an answer: wrong role.
  const caller = new CallSecurity(alice);
  const mine = caller.describe(callerPlace);
  expect(caller.agree(callerPlace, mine, callerPlace)).toMatchObject({ code: 'bad_signature' });
});

test('a man in the middle who re-signs with his own identity gets through the signatures but not the SAS', () => {
  const mallory = Identity.generate();
  const caller = new CallSecurity(alice);
  const callee = new CallSecurity(bob);
  const toBob = new CallSecurity(mallory);
  const toAlice = new CallSecurity(mallory);
  const a = caller.agree(callerPlace, toAlice.describe(calleePlace), calleePlace) as MediaKeys;
  const b = callee.agree(calleePlace, toBob.describe(callerPlace), callerPlace) as MediaKeys;
  expect(isRefusal(a) || isRefusal(b)).toBe(false);
  expect(a.sas).not.toBe(b.sas);
  expect(a.peerIdentity).toBe(mallory.publicKey);
});

test('a low-order X25519 point is refused', () => {
  const caller = new CallSecurity(alice);
  // An all-zero public key: the shared secret would be zero. Signed properly, so only the key is wrong.
  const zero = Buffer.alloc(32).toString('base64url');
  const answer = signMediaKey(bob, 'callee', zero, 22, 'bbbb');
  expect(caller.agree(callerPlace, answer, calleePlace)).toMatchObject({ code: 'bad_key' });
});

test('identity keys survive PEM and the SAS takes 25 bits', () => {
  const again = Identity.fromPem(alice.toPem());
  expect(again.publicKey).toBe(alice.publicKey);
  expect(sasString(Buffer.from([0, 0, 0, 0]))).toBe('yyyyy');
  expect(sasString(Buffer.from([0xff, 0xff, 0xff, 0x80]))).toBe('99999');
  expect(sasString(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toBe('99999');
  expect(sasString(Buffer.from([0xff, 0xff, 0xff, 0x7f]))).toBe('99996');
});
