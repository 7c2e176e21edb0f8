import { decodeProbe, decodeRtp, encodeProbe, encodeRtp, isRtcp, seqDistance } from '../../src/protocol/rtp';
import { decodeRed, encodeRed } from '../../src/protocol/red';
import { classifyPacket } from '../../src/media/demux';

describe('RTP', () => {
  test('round trip keeps every header field and the payload', () => {
    const p = { payloadType: 111, sequence: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef, marker: true, payload: Buffer.from([1, 2, 3]) };
    const buf = encodeRtp(p);
    expect(buf.length).toBe(15);
    expect(buf[0]).toBe(0x80);
    expect(decodeRtp(buf)).toEqual(p);
  });

  test('skips CSRCs, a header extension and padding', () => {
    const buf = Buffer.from([
      0xb1, 96, 0, 7, 0, 0, 1, 0, 0, 0, 0, 9, // V=2 P=1 X=1 CC=1
      0, 0, 0, 5, // CSRC
      0xbe, 0xde, 0, 1, 1, 2, 3, 4, // extension, one word
      0xaa, 0xbb, // payload
      0, 0, 3, // padding of 3
    ]);
    const p = decodeRtp(buf);
    expect(p).toMatchObject({ payloadType: 96, sequence: 7, timestamp: 256, ssrc: 9, marker: false });
    expect([...(p?.payload ?? [])]).toEqual([0xaa, 0xbb]);
  });

  test('rejects what is not RTP version 2', () => {
    expect(decodeRtp(Buffer.alloc(5))).toBeNull();
    expect(decodeRtp(Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeNull();
    expect(decodeRtp(Buffer.from([0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeNull(); // 15 CSRCs missing
  });

  test('probes round trip and are RTCP, not RTP', () => {
    const ping = encodeProbe({ kind: 'ping', ssrc: 42, sentAt: 1234.5 });
    expect(isRtcp(ping)).toBe(true);
    expect(classifyPacket(ping)).toBe('rtcp');
    expect(decodeProbe(ping)).toEqual({ kind: 'ping', ssrc: 42, sentAt: 1234.5 });
    expect(decodeProbe(encodeProbe({ kind: 'pong', ssrc: 1, sentAt: 2 }))).toEqual({ kind: 'pong', ssrc: 1, sentAt: 2 });
    expect(decodeProbe(Buffer.alloc(24))).toBeNull();
  });

  test('demultiplexes by the first byte (RFC 7983)', () => {
    expect(classifyPacket(Buffer.from([0x00, 0x01]))).toBe('stun');
    expect(classifyPacket(Buffer.from([22, 0]))).toBe('dtls');
    expect(classifyPacket(encodeRtp({ payloadType: 63, sequence: 1, timestamp: 1, ssrc: 1, marker: false, payload: Buffer.alloc(4) }))).toBe('rtp');
    expect(classifyPacket(Buffer.from([0xff]))).toBe('unknown');
    expect(classifyPacket(Buffer.alloc(0))).toBe('unknown');
  });

  test('sequence distance wraps', () => {
    expect(seqDistance(65535, 0, 16)).toBe(1);
    expect(seqDistance(0, 65535, 16)).toBe(-1);
    expect(seqDistance(0xffffffff, 5, 32)).toBe(6);
  });
});

describe('RED (RFC 2198)', () => {
  const a = Buffer.from('first');
  const b = Buffer.from('second!');
  const c = Buffer.from('primary');

  test('carries earlier frames before the primary, oldest first', () => {
    const buf = encodeRed({ payloadType: 111, data: c }, [
      { payloadType: 111, timestampOffset: 1920, data: a },
      { payloadType: 111, timestampOffset: 960, data: b },
    ]);
    expect(buf.length).toBe(4 + 4 + 1 + a.length + b.length + c.length);
    // The first header: F=1, PT 111, offset 1920, length 5.
    expect(buf[0]).toBe(0x80 | 111);
    expect(decodeRed(buf)).toEqual([
      { payloadType: 111, timestampOffset: 1920, data: a },
      { payloadType: 111, timestampOffset: 960, data: b },
      { payloadType: 111, timestampOffset: 0, data: c },
    ]);
  });

  test('a primary alone is one byte of header', () => {
    const buf = encodeRed({ payloadType: 96, data: c }, []);
    expect(buf.length).toBe(1 + c.length);
    expect(decodeRed(buf)).toEqual([{ payloadType: 96, timestampOffset: 0, data: c }]);
  });

  test('leaves out blocks its header cannot describe', () => {
    const big = Buffer.alloc(1024);
    const buf = encodeRed({ payloadType: 96, data: c }, [
      { payloadType: 96, timestampOffset: 640, data: big },
      { payloadType: 96, timestampOffset: 20000, data: a },
      { payloadType: 96, timestampOffset: 320, data: b },
    ]);
    expect(decodeRed(buf)?.map((x) => x.timestampOffset)).toEqual([320, 0]);
  });

  test('malformed payloads decode to null', () => {
    expect(decodeRed(Buffer.alloc(0))).toBeNull();
    expect(decodeRed(Buffer.from([0x80 | 111, 0, 4]))).toBeNull(); // truncated header
    expect(decodeRed(Buffer.from([0x80 | 111, 0, 0x0f, 0xff, 111]))).toBeNull(); // block longer than the packet
  });
});
