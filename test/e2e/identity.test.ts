/**
 * Identities: the SAS is the same on both sides of an honest call and differs when someone in
 * the middle swaps the keys; a peer whose identity key changed is refused with a warning
 * before any audio, unless the new key is accepted, which then remembers it.
 */
import { startServer, type RunningServer } from '../../src/server';
import { CallFailedError, Phone, type ActiveCall, type IdentityWarning, type PhoneOptions } from '../../src/client/phone';
import { Identity } from '../../src/media/crypto/identity';
import { MemoryKnownPeers } from '../../src/client/known-peers';
import { ToneSource } from '../../src/audio';
import { waitUntil } from '../helpers/wait';
import { RecordingSink } from './media-helpers';
import { MitmSignaling } from './mitm-signaling';
import { RawClient } from '../helpers/signaling';

let server: RunningServer;
const phones: Phone[] = [];

beforeAll(async () => {
  // The tests reuse names, some through a relay that drops its connections without `bye`: no grace.
  server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error', resumeGraceMs: 0 });
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  await Promise.all(phones.splice(0).map((p) => p.close()));
});

async function phone(name: string, opts: Partial<PhoneOptions> = {}): Promise<Phone> {
  const p = await Phone.connect({ server: { host: '127.0.0.1', port: server.port }, udpHost: '127.0.0.1', stun: false, relay: 'off', ...opts });
  phones.push(p);
  await p.register(name);
  return p;
}

async function close(p: Phone): Promise<void> {
  phones.splice(phones.indexOf(p), 1);
  await p.close();
}

/** `caller` calls `callee`, which accepts; both live calls, or the caller's failure. */
async function dial(caller: Phone, callee: Phone, to: string, output = new RecordingSink()) {
  const calleeCall = new Promise<ActiveCall>((resolve) => callee.once('incoming', (c) => void c.accept({ input: new ToneSource(1100), output }).then(resolve, () => undefined)));
  const callerCall = await caller.call(to, { input: new ToneSource(700), output: 'null' }).result;
  return { callerCall, calleeCall: await calleeCall };
}

test('the SAS is the same on both sides, and the peers see each other’s identity keys', async () => {
  const aliceId = Identity.generate();
  const bobId = Identity.generate();
  const alice = await phone('alice', { identity: aliceId });
  const bob = await phone('bob', { identity: bobId });
  const { callerCall, calleeCall } = await dial(alice, bob, 'bob');
  expect(callerCall.sas).toMatch(/^[a-z0-9]{5}$/);
  expect(callerCall.sas).toBe(calleeCall.sas);
  expect(callerCall.peerIdentity).toBe(bobId.publicKey);
  expect(calleeCall.peerIdentity).toBe(aliceId.publicKey);
  expect(callerCall.peerFingerprint).toBe(bobId.fingerprint);
  await callerCall.hangup();
});

test('a man in the middle swapping the keys in offer and answer: both sides connect, the SAS differs, no audio decrypts', async () => {
  const mitm = await MitmSignaling.start({ host: '127.0.0.1', port: server.port });
  try {
    const alice = await phone('alice', { server: { host: '127.0.0.1', port: mitm.port } });
    const bob = await phone('bob');
    const heard = new RecordingSink();
    const { callerCall, calleeCall } = await dial(alice, bob, 'bob', heard);
    expect(mitm.swapped).toBe(2);
    expect(callerCall.peerIdentity).toBe(mitm.identity.publicKey);
    expect(calleeCall.peerIdentity).toBe(mitm.identity.publicKey);
    expect(callerCall.sas).not.toBe(calleeCall.sas);
    // The keys differ end to end: everything alice sends fails to authenticate at bob.
    await waitUntil(() => calleeCall.stats().decryptFailed >= 20, 'bob to refuse 20 packets');
    expect(calleeCall.stats().packetsReceived).toBe(0);
    await callerCall.hangup();
  } finally {
    await mitm.close();
  }
});

test('an offer whose key was swapped without the identity’s signature is refused before it rings', async () => {
  const mitm = await MitmSignaling.start({ host: '127.0.0.1', port: server.port });
  mitm.resign = false;
  try {
    const alice = await phone('alice', { server: { host: '127.0.0.1', port: mitm.port } });
    const bob = await phone('bob');
    const rang = jest.fn();
    bob.on('incoming', rang);
    const refusals: string[] = [];
    bob.on('call-failed', (f) => refusals.push(f.reason));
    const refused = await alice.call('bob', { input: new ToneSource(700), output: 'null' }).result.catch((e: unknown) => e);
    expect((refused as CallFailedError).end).toMatchObject({ reason: 'failed', cause: 'bad_signature', byMe: false });
    expect(rang).not.toHaveBeenCalled();
    expect(refusals).toEqual(['bad_signature']);
  } finally {
    await mitm.close();
  }
});

test('a caller without encryption (an offer with no key) is refused as incompatible before it rings, saying why', async () => {
  const bob = await phone('bob');
  const rang = jest.fn();
  bob.on('incoming', rang);
  const refusals: string[] = [];
  bob.on('call-failed', (f) => refusals.push(f.message));
  const eve = await RawClient.register(server.port, 'eve');
  try {
    const offer = {
      v: 1,
      codecs: [{ name: 'opus', payloadType: 111, clockRate: 48000, frameMs: 20 }],
      red: false,
      candidates: [{ ip: '127.0.0.1', port: 9, type: 'host' }],
      ssrc: 1,
      ice: { ufrag: 'evee', pwd: 'evepasswordevepassword' },
    };
    eve.send({ type: 'call', to: 'bob', offer });
    expect(await eve.next()).toMatchObject({ type: 'ringing' });
    expect(await eve.next()).toMatchObject({ type: 'rejected', reason: 'incompatible' });
    expect(rang).not.toHaveBeenCalled();
    expect(refusals).toEqual([expect.stringMatching(/call from eve refused: the caller sent no encryption key.*without end-to-end encryption/)]);
  } finally {
    await eve.close();
  }
});

describe('known peers', () => {
  test("the caller refuses a callee whose key changed, warning first; with acceptNewKey it calls and remembers the new key", async () => {
    const known = new MemoryKnownPeers();
    const aliceId = Identity.generate();
    const alice = await phone('alice', { identity: aliceId, knownPeers: known });
    const bob1 = await phone('bob');
    const first = await dial(alice, bob1, 'bob');
    expect(known.check('bob', first.callerCall.peerIdentity)).toEqual({ status: 'same' });
    await first.callerCall.hangup();
    await close(bob1);

    // "bob" again, with another key.
    const bob2 = await phone('bob');
    const warnings: IdentityWarning[] = [];
    alice.on('identity-changed', (w) => warnings.push(w));
    const rang = jest.fn();
    bob2.on('incoming', (c) => {
      rang();
      void c.accept({ input: new ToneSource(1100), output: 'null' }).catch(() => undefined);
    });
    const refused = await alice.call('bob', { input: new ToneSource(700), output: 'null' }).result.catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CallFailedError);
    expect((refused as CallFailedError).end).toMatchObject({ reason: 'failed', cause: 'identity_changed', byMe: true });
    expect(warnings).toEqual([{ peer: 'bob', knownFingerprint: bob1.identity.fingerprint, newFingerprint: bob2.identity.fingerprint, accepted: false }]);
    expect(known.check('bob', bob2.identity.publicKey)).toMatchObject({ status: 'changed' });
    await close(alice);

    const alice2 = await phone('alice', { identity: aliceId, knownPeers: known, acceptNewKey: true });
    const accepted: IdentityWarning[] = [];
    alice2.on('identity-changed', (w) => accepted.push(w));
    bob2.removeAllListeners('incoming');
    const second = await dial(alice2, bob2, 'bob');
    expect(accepted).toEqual([expect.objectContaining({ peer: 'bob', accepted: true })]);
    expect(second.callerCall.sas).toBe(second.calleeCall.sas);
    expect(known.check('bob', bob2.identity.publicKey)).toEqual({ status: 'same' });
    await second.callerCall.hangup();
  });

  test('the callee refuses a caller whose key changed before it rings; the caller is told why', async () => {
    const known = new MemoryKnownPeers();
    const bob = await phone('bob', { knownPeers: known });
    const alice1 = await phone('alice');
    const first = await dial(alice1, bob, 'bob');
    await first.callerCall.hangup();
    await waitUntil(() => bob.status === 'idle', 'bob to be idle');
    await close(alice1);

    const alice2 = await phone('alice');
    const refusals: string[] = [];
    bob.on('call-failed', (f) => refusals.push(`${f.reason}: ${f.message}`));
    const warnings: IdentityWarning[] = [];
    bob.on('identity-changed', (w) => warnings.push(w));
    const rang = jest.fn();
    bob.on('incoming', rang);
    const refused = await alice2.call('bob', { input: new ToneSource(700), output: 'null' }).result.catch((e: unknown) => e);
    expect((refused as CallFailedError).end).toMatchObject({ reason: 'failed', cause: 'identity_changed', byMe: false });
    expect(rang).not.toHaveBeenCalled();
    expect(warnings).toHaveLength(1);
    expect(refusals).toEqual([expect.stringMatching(/^identity_changed: .*--accept-new-key/)]);
  });
});
