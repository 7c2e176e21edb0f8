import { acceptAnswer, answerOffer, type Offer } from '../../src/media/negotiation';
import { ReceptionStats } from '../../src/media/reception';
import { PEER_ICE, SELF_ICE } from '../helpers/ice-peer';

const opus = { name: 'opus', payloadType: 111, clockRate: 48000, frameMs: 20 as const };
const pcm = { name: 'pcm', payloadType: 96, clockRate: 16000, frameMs: 20 as const };
const cand = [{ ip: '127.0.0.1', port: 5000, type: 'host' as const }];
const offer: Offer = { v: 1, codecs: [opus, pcm], red: { payloadType: 63 }, candidates: cand, ssrc: 1, ice: PEER_ICE };

describe('negotiation', () => {
  test('the answer picks the first offered codec both sides have', () => {
    const r = answerOffer(offer, { codecs: [pcm, opus], red: true, candidates: cand, ssrc: 2, ice: SELF_ICE });
    expect(r.ok && r.answer.codec.name).toBe('opus');
    const only = answerOffer(offer, { codecs: [pcm], red: true, candidates: cand, ssrc: 2, ice: SELF_ICE });
    expect(only.ok && only.agreement).toMatchObject({ codec: pcm, red: { payloadType: 63 }, localSsrc: 2, remoteSsrc: 1 });
  });

  test('no common codec is incompatible, and so is an unreadable offer', () => {
    expect(answerOffer({ ...offer, codecs: [pcm] }, { codecs: [opus], red: true, candidates: cand, ssrc: 2, ice: SELF_ICE })).toMatchObject({
      ok: false,
      reason: 'incompatible',
    });
    expect(answerOffer({ codecs: 'opus' }, { codecs: [opus], red: true, candidates: cand, ssrc: 2, ice: SELF_ICE })).toMatchObject({ ok: false });
  });

  test('the caller checks the answer against its offer', () => {
    const r = answerOffer(offer, { codecs: [opus], red: false, candidates: cand, ssrc: 2, ice: SELF_ICE });
    if (!r.ok) throw new Error('expected an answer');
    expect(acceptAnswer(r.answer, offer)).toMatchObject({ codec: opus, red: false, remoteSsrc: 2, remoteCandidates: cand });
    expect(acceptAnswer({ ...r.answer, codec: { ...opus, name: 'g711' } }, offer)).toHaveProperty('error');
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
