/** Room keys: members' X25519 keys signed for one room, sender keys sealed from one member to another. */
import { Identity } from '../../../src/media/crypto/identity';
import { EphemeralKey } from '../../../src/media/crypto/key-schedule';
import { newSenderKey, openSenderKey, sealSenderKey, signMemberKey, verifyMemberKey, type SealContext } from '../../../src/media/crypto/sender-keys';

const alice = new EphemeralKey();
const bob = new EphemeralKey();
const carol = new EphemeralKey();
const ctx: SealContext = { room: 'alice', from: 'alice', to: 'bob', epoch: 3 };

test('a sealed sender key opens for its recipient, whole, and fits the protocol field', () => {
  const sk = newSenderKey();
  const sealed = sealSenderKey(alice, bob.publicKey, ctx, sk);
  expect(sealed).toMatch(/^[A-Za-z0-9_-]{1,512}$/);
  const opened = openSenderKey(bob, alice.publicKey, ctx, sealed);
  expect(opened).not.toBeNull();
  expect(opened!.key.equals(sk.key)).toBe(true);
  expect(opened!.salt.equals(sk.salt)).toBe(true);
  expect(opened!.ssrc).toBe(sk.ssrc);
  // A nonce of its own each time.
  expect(sealSenderKey(alice, bob.publicKey, ctx, sk)).not.toBe(sealed);
});

test('another recipient, or a changed room, sender, recipient or epoch, opens nothing', () => {
  const sealed = sealSenderKey(alice, bob.publicKey, ctx, newSenderKey());
  expect(openSenderKey(carol, alice.publicKey, ctx, sealed)).toBeNull();
  expect(openSenderKey(bob, carol.publicKey, ctx, sealed)).toBeNull();
  expect(openSenderKey(bob, alice.publicKey, { ...ctx, room: 'mallory' }, sealed)).toBeNull();
  expect(openSenderKey(bob, alice.publicKey, { ...ctx, from: 'carol' }, sealed)).toBeNull();
  expect(openSenderKey(bob, alice.publicKey, { ...ctx, to: 'carol' }, sealed)).toBeNull();
  expect(openSenderKey(bob, alice.publicKey, { ...ctx, epoch: 4 }, sealed)).toBeNull();
  // Names are length-prefixed: moving a character from one name to the next changes the key.
  expect(openSenderKey(bob, alice.publicKey, { ...ctx, from: 'alic', to: 'ebob' }, sealed)).toBeNull();
  expect(openSenderKey(bob, alice.publicKey, ctx, sealed)).not.toBeNull();
});

test('a tampered, truncated or garbled sealed key opens nothing and never throws', () => {
  const sealed = sealSenderKey(alice, bob.publicKey, ctx, newSenderKey());
  const raw = Buffer.from(sealed, 'base64url');
  for (const at of [0, 12, 30, raw.length - 1]) {
    const t = Buffer.from(raw);
    t[at] ^= 1;
    expect(openSenderKey(bob, alice.publicKey, ctx, t.toString('base64url'))).toBeNull();
  }
  expect(openSenderKey(bob, alice.publicKey, ctx, raw.subarray(0, raw.length - 1).toString('base64url'))).toBeNull();
  expect(openSenderKey(bob, alice.publicKey, ctx, '')).toBeNull();
  expect(openSenderKey(bob, alice.publicKey, ctx, '!!not base64!!')).toBeNull();
  expect(openSenderKey(bob, 'not-a-key', ctx, sealed)).toBeNull();
  expect(openSenderKey(bob, alice.publicKey, { ...ctx, epoch: -1 }, sealed)).toBeNull();
  expect(openSenderKey(bob, alice.publicKey, ctx, null as unknown as string)).toBeNull();
});

test("a member key verifies for its member's name only, and not with another identity's signature", () => {
  const id = Identity.generate();
  const other = Identity.generate();
  const m = signMemberKey(id, 'alice', alice.publicKey);
  expect(m).toEqual({ key: alice.publicKey, identity: id.publicKey, sig: expect.stringMatching(/^[A-Za-z0-9_-]{86}$/) });
  expect(verifyMemberKey(m, 'alice')).toBe(true);
  expect(verifyMemberKey(m, 'alic')).toBe(false);
  expect(verifyMemberKey(m, 'mallory')).toBe(false);
  // Someone else's identity claiming the key, or signing it themselves and passing it off as id's.
  expect(verifyMemberKey({ ...m, identity: other.publicKey }, 'alice')).toBe(false);
  const forged = signMemberKey(other, 'alice', alice.publicKey);
  expect(verifyMemberKey({ ...forged, identity: id.publicKey }, 'alice')).toBe(false);
  expect(verifyMemberKey({ ...m, key: bob.publicKey }, 'alice')).toBe(false);
  expect(verifyMemberKey({ ...m, sig: 'A'.repeat(86) }, 'alice')).toBe(false);
  expect(verifyMemberKey({ ...m, key: 'short' }, 'alice')).toBe(false);
});
