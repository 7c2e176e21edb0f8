import { acceptAnswer, answerOffer, type Offer } from '../../src/media/negotiation';
import { ReceptionStats } from '../../src/media/reception';
import { PEER_ICE, SELF_ICE } from '../helpers/ice-peer';
import { CallSecurity } from '../../src/media/crypto/call-security';
import { Identity } from '../../src/media/crypto/identity';

const opus = { name: 'opus', payloadType: 111, clockRate: 48000, frameMs: 20 as const };
const pcm = { name: 'pcm', payloadType: 96, clockRate: 16000, frameMs: 20 as const };
const cand = [{ ip: '127.0.0.1', port: 5000, type: 'host' as const }];
const callerKey = new CallSecurity(Identity.generate());
const crypto = callerKey.describe({ role: 'caller', ssrc: 1, ufrag: PEER_ICE.ufrag });
const offer: Offer = { v: 1, codecs: [opus, pcm], red: { payloadType: 63 }, candidates: cand, ssrc: 1, ice: PEER_ICE, crypto };
const calleeCrypto = new CallSecurity(Identity.generate()).describe({ role: 'callee', ssrc: 2, ufrag: SELF_ICE.ufrag });

describe('negotiation', () => {
  test('the answer picks the first offered codec both sides have', () => {
    const r = answerOffer(offer, { codecs: [pcm, opus], red: true, candidates: cand, ssrc: 2, ice: SELF_ICE });
    expect(r.ok && r.answer.codec.name).toBe('opus');
    const only = answerOffer(offer, { codecs: [pcm], red: true, candidates: cand, ssrc: 2, ice: SELF_ICE });
    expect(only.ok && only.terms).toMatchObject({ codec: pcm, red: { payloadType: 63 }, localSsrc: 2, remoteSsrc: 1 });
  });

  test('no common codec is incompatible, and so is an unreadable offer', () => {
    expect(answerOffer({ ...offer, codecs: [pcm] }, { codecs: [opus], red: true, candidates: cand, ssrc: 2, ice: SELF_ICE })).toMatchObject({
      ok: false,
      reason: 'incompatible',
    });
    expect(answerOffer({ codecs: 'opus' }, { codecs: [opus], red: true, candidates: cand, ssrc: 2, ice: SELF_ICE })).toMatchObject({ ok: false });
  });

  test('an offer without an encryption key is refused as incompatible, saying so', () => {
    const { crypto: _none, ...plain } = offer;
    const r = answerOffer(plain, { codecs: [opus], red: true, candidates: cand, ssrc: 2, ice: SELF_ICE });
    expect(r).toMatchObject({ ok: false, reason: 'incompatible' });
    expect(!r.ok && r.message).toMatch(/no encryption key.*without end-to-end encryption/);
    const bad = answerOffer({ ...offer, crypto: { ...crypto, suite: 'NULL' } }, { codecs: [opus], red: true, candidates: cand, ssrc: 2, ice: SELF_ICE });
    expect(bad).toMatchObject({ ok: false, reason: 'incompatible' });
  });

  test('the caller checks the answer against its offer', () => {
    const r = answerOffer(offer, { codecs: [opus], red: false, candidates: cand, ssrc: 2, ice: SELF_ICE });
    if (!r.ok) throw new Error('expected an answer');
    const answer = { ...r.answer, crypto: calleeCrypto };
    expect(acceptAnswer(answer, offer)).toMatchObject({ terms: { codec: opus, red: false, remoteSsrc: 2, remoteCandidates: cand }, remote: calleeCrypto });
    expect(acceptAnswer({ ...answer, codec: { ...opus, name: 'g711' } }, offer)).toHaveProperty('error');
    expect(acceptAnswer(r.answer, offer)).toHaveProperty('error', expect.stringMatching(/no encryption key/));
    expect(acceptAnswer({}, offer)).toHaveProperty('error');
  });
});

describe('RFC 3550 reception statistics', () => {
  test('counts loss from sequence numbers across a wrap, not counting duplicates', () => {
    const r = new ReceptionStats(48000);
    const seqs = [65530, 65531, 65533, 65533, 65534, 65535, 0, 2, 3];
    seqs.forEach((s, i) => r.record(s, i * 960, i * 20));
    expect(r.expected).toBe(10);
    expect(r.packetsReceived).toBe(8);
    expect(r.duplicates).toBe(1);
    expect(r.lost).toBe(2);
  });

  test('jitter is zero for a steady stream and tracks arrival variation', () => {
    const steady = new ReceptionStats(48000);
    for (let i = 0; i < 100; i++) steady.record(i, i * 960, 1000 + i * 20);
    expect(steady.jitterMs).toBeCloseTo(0, 6);
    const shaky = new ReceptionStats(48000);
    for (let i = 0; i < 1000; i++) shaky.record(i, i * 960, 1000 + i * 20 + (i % 2) * 10);
    // |D| is 10 ms every packet: J converges to 10 ms.
    expect(shaky.jitterMs).toBeGreaterThan(9.5);
    expect(shaky.jitterMs).toBeLessThan(10.5);
  });
});

describe('comfort noise in the offer and answer', () => {
  const local = { codecs: [opus], red: true, candidates: cand, ssrc: 2, ice: SELF_ICE };
  const cnOffer: Offer = { ...offer, cn: { payloadType: 105 } };

  test('agreed when the offer has it and the callee takes it, on both sides', () => {
    const r = answerOffer(cnOffer, local);
    if (!r.ok) throw new Error(r.message);
    expect(r.answer.cn).toEqual({ payloadType: 105 });
    expect(r.terms.cn).toEqual({ payloadType: 105 });
    expect(acceptAnswer({ ...r.answer, crypto: calleeCrypto }, cnOffer)).toMatchObject({ terms: { cn: { payloadType: 105 } } });
  });

  test('not agreed when either side does not offer it; the answer to an old offer has no cn at all', () => {
    const old = answerOffer(offer, local);
    if (!old.ok) throw new Error(old.message);
    expect(old.terms.cn).toBe(false);
    expect('cn' in old.answer).toBe(false);
    const declined = answerOffer(cnOffer, { ...local, cn: false });
    if (!declined.ok) throw new Error(declined.message);
    expect(declined.terms.cn).toBe(false);
    // An old callee answers without the field: the caller agrees on none.
    const { cn: _cn, ...oldAnswer } = { ...declined.answer, crypto: calleeCrypto };
    expect(acceptAnswer(oldAnswer, cnOffer)).toMatchObject({ terms: { cn: false } });
  });

  test("a payload type the codec or RED already has is not comfort noise", () => {
    for (const payloadType of [111, 63]) {
      const r = answerOffer({ ...offer, cn: { payloadType } }, local);
      if (!r.ok) throw new Error(r.message);
      expect(r.terms.cn).toBe(false);
    }
  });
});
