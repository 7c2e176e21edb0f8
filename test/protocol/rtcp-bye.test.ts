import fc from 'fast-check';
import { decodeBye, encodeBye } from '../../src/protocol/rtcp-bye';
import { isRtcp } from '../../src/protocol/rtp';

test('a BYE round-trips its SSRC and reason, and is RTCP (RFC 3550 §6.6 layout)', () => {
  const buf = encodeBye(0xdeadbeef, 'failed:no_path');
  expect(isRtcp(buf)).toBe(true);
  expect(buf[1]).toBe(203);
  expect(buf.length % 4).toBe(0);
  expect((buf.readUInt16BE(2) + 1) * 4).toBe(buf.length);
  expect(decodeBye(buf)).toEqual({ ssrc: 0xdeadbeef, reason: 'failed:no_path' });
  expect(decodeBye(encodeBye(7, ''))).toEqual({ ssrc: 7, reason: '' });
});

test('anything else is not a BYE: other RTCP, a wrong length, a reason past the packet, several sources', () => {
  const bye = encodeBye(1, 'hangup');
  const app = Buffer.from(bye);
  app[1] = 204;
  expect(decodeBye(app)).toBeNull();
  expect(decodeBye(bye.subarray(0, bye.length - 4))).toBeNull();
  const long = Buffer.from(bye);
  long[8] = 200;
  expect(decodeBye(long)).toBeNull();
  const two = Buffer.from(bye);
  two[0] = (2 << 6) | 2;
  expect(decodeBye(two)).toBeNull();
  const control = encodeBye(1, 'hang\x07up');
  expect(decodeBye(control)?.reason).toBe('');
});

test('no datagram makes the decoder throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const b = Buffer.from(bytes);
      if (b.length > 1) b[0] = (b[0] & 0x3f) | 0x80;
      if (b.length > 1) b[1] = 203;
      const r = decodeBye(b);
      return r === null || (typeof r.ssrc === 'number' && typeof r.reason === 'string');
    }),
  );
});
