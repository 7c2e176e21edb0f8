import { counterOf, firstTerms, judge, reoffer, sameTerms } from '../../src/client/room/room-terms';
import type { CodecDescription } from '../../src/media/negotiation';

const opus = (frameMs: 10 | 20 | 40 = 20): CodecDescription => ({ name: 'opus', payloadType: 111, clockRate: 48000, frameMs });
const pcm: CodecDescription = { name: 'pcm', payloadType: 96, clockRate: 16000, frameMs: 20 };

describe('room terms', () => {
  test("the owner's first offer is its preferred codec at its frame size", () => {
    expect(firstTerms([opus(), pcm])).toEqual({ v: 1, codec: opus(), red: true, topology: 'forward' });
    expect(firstTerms([])).toBeNull();
  });

  test('a member acks what it has at its frame size, and nacks anything else with every codec it has', () => {
    const offer = firstTerms([opus(), pcm])!;
    expect(judge(offer, [opus(), pcm])).toEqual({ ack: true, terms: offer });
    const onlyPcm = judge(offer, [pcm]);
    expect(onlyPcm).toMatchObject({ ack: false, counter: { codecs: [{ name: 'pcm', frameMs: [20] }] } });
    const wants40 = judge(offer, [opus(40), pcm]);
    expect(wants40).toMatchObject({ ack: false, counter: { codecs: [{ name: 'opus', frameMs: [40] }, { name: 'pcm', frameMs: [20] }] } });
    expect(judge({ v: 9, codec: 'opus' }, [opus()])).toMatchObject({ ack: false });
    // Same name, other payload type: not the same codec.
    expect(judge({ ...offer, codec: { ...offer.codec, payloadType: 100 } }, [opus()])).toMatchObject({ ack: false });
  });

  test('the re-offer is the first of the owner\'s codecs, at a frame size, that every counter allows', () => {
    const owner = [opus(), pcm];
    expect(reoffer(owner, [])).toEqual(firstTerms(owner));
    expect(reoffer(owner, [counterOf([pcm])])?.codec).toEqual(pcm);
    expect(reoffer(owner, [counterOf([opus(40), pcm])])?.codec).toEqual(opus(40));
    // One wants opus at 40 ms, another only PCM: PCM for everyone.
    expect(reoffer(owner, [counterOf([opus(40), pcm]), counterOf([pcm])])?.codec).toEqual(pcm);
    // PCM at 40 ms is never offered (an L16 frame that long cannot travel as a redundant block).
    expect(reoffer([pcm], [{ codecs: [{ name: 'pcm', frameMs: [40] }] }])).toBeNull();
    expect(reoffer([opus()], [counterOf([pcm])])).toBeNull();
  });

  test('terms are the same when codec, frame size, payload type and redundancy are', () => {
    const a = firstTerms([opus()])!;
    expect(sameTerms(a, { ...a })).toBe(true);
    expect(sameTerms(a, { ...a, red: false })).toBe(false);
    expect(sameTerms(a, { ...a, codec: opus(40) })).toBe(false);
    expect(sameTerms(a, null)).toBe(false);
  });
});

test('comfort noise is offered only when asked, and terms that differ in it are not the same codec', () => {
  const opus20 = { name: 'opus', payloadType: 111, clockRate: 48000, frameMs: 20 as const };
  const plain = firstTerms([opus20])!;
  const cn = firstTerms([opus20], { cn: true })!;
  expect(plain).not.toHaveProperty('cn');
  expect(cn.cn).toBe(true);
  expect(reoffer([opus20], [], { cn: true })?.cn).toBe(true);
  expect(sameTerms(plain, cn)).toBe(false);
  // An offer from before comfort noise is read as one without it.
  expect(judge({ v: 1, codec: opus20, red: true }, [opus20])).toMatchObject({ ack: true });
});
