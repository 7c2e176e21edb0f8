/**
 * SRTP AEAD_AES_128_GCM and its replay window: round trips across a sequence wrap, the window's
 * edges, out-of-order packets within it, and every kind of tampering refused and counted.
 */
import { createCipheriv } from 'node:crypto';
import { ReplayWindow, REPLAY_WINDOW } from '../../../src/media/crypto/replay-window';
import { SrtpOpener, SrtpSealer, srtpIv, type DirectionKey } from '../../../src/media/crypto/srtp-gcm';
import { decodeRtp, encodeRtp } from '../../../src/protocol/rtp';

const k: DirectionKey = { key: Buffer.alloc(16, 7), salt: Buffer.from('0123456789ab') };
const SSRC = 0xdeadbeef;

function packet(seq: number, payload = Buffer.from(`frame ${seq}`)): Buffer {
  return encodeRtp({ payloadType: 96, sequence: seq & 0xffff, timestamp: seq * 320, ssrc: SSRC, marker: false, payload });
}

describe('ReplayWindow', () => {
  test('accepts each index once, in any order within the window, and nothing older than the window', () => {
    const w = new ReplayWindow(64);
    w.accept(100);
    expect(w.check(100)).toBe('replayed');
    expect(w.check(99)).toBe('fresh');
    w.accept(99);
    expect(w.check(99)).toBe('replayed');
    // The window's lower edge: top - 63 is still in, top - 64 is out.
    expect(w.check(100 - 63)).toBe('fresh');
    expect(w.check(100 - 64)).toBe('too_old');
    w.accept(200);
    // Indexes skipped over by the jump are fresh, the old ones fell out.
    expect(w.check(150)).toBe('fresh');
    expect(w.check(137)).toBe('fresh');
    expect(w.check(136)).toBe('too_old');
    expect(w.check(100)).toBe('too_old');
    expect(w.check(-1)).toBe('too_old');
  });

  test('a jump of more than the window clears it: slots reused modulo the size are not taken for replays', () => {
    const w = new ReplayWindow(64);
    for (let i = 0; i < 64; i++) w.accept(i);
    w.accept(64 * 5 + 3);
    for (let i = 64 * 4 + 4; i < 64 * 5 + 3; i++) expect(w.check(i)).toBe('fresh');
  });

  test('refuses windows under 64 packets', () => {
    expect(() => new ReplayWindow(32)).toThrow(RangeError);
    expect(REPLAY_WINDOW).toBeGreaterThanOrEqual(64);
  });
});

describe('SRTP AEAD_AES_128_GCM', () => {
  test('the IV is the salt XOR 00 00 ‖ SSRC ‖ ROC ‖ SEQ (RFC 7714 §8.1)', () => {
    const iv = srtpIv(Buffer.alloc(12), 0x01020304, 0x05060708, 0x090a);
    expect(iv.toString('hex')).toBe('000001020304050607080' + '90a');
    expect(srtpIv(Buffer.alloc(12, 0xff), 0, 0, 0).toString('hex')).toBe('ff'.repeat(12));
  });

  test('seals as RFC 7714 says: header in the clear, AES-GCM of the payload with the header as AAD, 16-byte tag', () => {
    const plain = packet(5, Buffer.from('hello'));
    const sealed = new SrtpSealer(k).seal(plain);
    expect(sealed.length).toBe(plain.length + 16);
    expect(sealed.subarray(0, 12)).toEqual(plain.subarray(0, 12));
    const c = createCipheriv('aes-128-gcm', k.key, srtpIv(k.salt, SSRC, 0, 5));
    c.setAAD(plain.subarray(0, 12));
    const expected = Buffer.concat([plain.subarray(0, 12), c.update(Buffer.from('hello')), c.final(), c.getAuthTag()]);
    expect(sealed).toEqual(expected);
    expect(sealed.includes(Buffer.from('hello'))).toBe(false);
  });

  test('round trips across a sequence wrap: the rollover counter moves on both sides', () => {
    const sealer = new SrtpSealer(k);
    const opener = new SrtpOpener(k);
    const start = 65530;
    for (let i = 0; i < 20; i++) {
      const r = opener.open(sealer.seal(packet(start + i)));
      expect(r.ok).toBe(true);
      if (r.ok) expect(decodeRtp(r.packet)?.payload.toString()).toBe(`frame ${start + i}`);
    }
    expect(opener.indexOf(3)).toBe(0x10000 + 3);
    expect(opener.decryptFailed + opener.replayed).toBe(0);
  });

  test('out of order within the window is taken, across the wrap too; a late packet from before the wrap keeps its old ROC', () => {
    const sealer = new SrtpSealer(k);
    const sealed = Array.from({ length: 12 }, (_, i) => sealer.seal(packet(65530 + i)));
    const opener = new SrtpOpener(k);
    // 65530…65535 then 0…5, delivered: the wrap first, then the ones from before it.
    const order = [0, 7, 8, 6, 1, 2, 11, 3, 4, 5, 9, 10];
    for (const i of order) expect(opener.open(sealed[i]).ok).toBe(true);
    expect(opener.replayed + opener.decryptFailed).toBe(0);
  });

  test('a replayed packet is dropped and counted, before any decryption', () => {
    const sealer = new SrtpSealer(k);
    const opener = new SrtpOpener(k);
    const a = sealer.seal(packet(1));
    expect(opener.open(a).ok).toBe(true);
    expect(opener.open(a)).toEqual({ ok: false, why: 'replayed' });
    expect(opener.replayed).toBe(1);
  });

  test('a packet older than the window is refused as a replay', () => {
    const sealer = new SrtpSealer(k);
    const opener = new SrtpOpener(k, 64);
    const first = sealer.seal(packet(1000));
    const sealed = [first];
    for (let s = 1001; s <= 1000 + 64; s++) sealed.push(sealer.seal(packet(s)));
    for (const p of sealed.slice(1)) expect(opener.open(p).ok).toBe(true);
    // 1000 is now 64 below the top (1064): out of a 64-packet window.
    expect(opener.open(first)).toEqual({ ok: false, why: 'replayed' });
  });

  test('a modified payload, header or tag, a wrong key and a truncated packet are refused and counted; none moves the window', () => {
    const sealer = new SrtpSealer(k);
    const opener = new SrtpOpener(k);
    const good = sealer.seal(packet(10));
    const flip = (at: number) => {
      const b = Buffer.from(good);
      b[at] ^= 1;
      return b;
    };
    expect(opener.open(flip(14)).ok).toBe(false); // payload
    expect(opener.open(flip(1)).ok).toBe(false); // marker bit in the header (AAD)
    expect(opener.open(flip(good.length - 1)).ok).toBe(false); // tag
    expect(new SrtpOpener({ key: Buffer.alloc(16, 8), salt: k.salt }).open(good).ok).toBe(false);
    expect(opener.open(good.subarray(0, 20)).ok).toBe(false);
    expect(opener.decryptFailed).toBe(4);
    // A forged packet far ahead does not move the window: the genuine one still opens.
    const forged = flip(3); // sequence 10 → 11 in the header: fails authentication
    expect(opener.open(forged).ok).toBe(false);
    expect(opener.open(good).ok).toBe(true);
    expect(opener.replayed).toBe(0);
  });

  test('garbage never throws', () => {
    const opener = new SrtpOpener(k);
    for (const b of [Buffer.alloc(0), Buffer.alloc(11), Buffer.from([0x80, 0, 0, 0]), Buffer.alloc(40, 0x9f), Buffer.alloc(2000, 0x80)]) {
      expect(opener.open(b).ok).toBe(false);
    }
  });
});
