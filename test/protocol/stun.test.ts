import dgram from 'node:dgram';
import {
  encodeBindingRequest,
  encodeBindingSuccess,
  encodeStun,
  looksLikeStun,
  parseBindingRequest,
  parseBindingSuccess,
  parseStun,
  STUN_BINDING_REQUEST,
  STUN_MAX_BYTES,
  verifyIntegrity,
} from '../../src/protocol';
import { testServer } from '../helpers/signaling';

describe('STUN binding (RFC 5389)', () => {
  const txid = Buffer.from('0123456789ab');

  test('request and success response round trip, XOR-mapped', () => {
    const req = encodeBindingRequest(txid);
    expect(looksLikeStun(req)).toBe(true);
    expect(parseBindingRequest(req)).toEqual(txid);
    const res = encodeBindingSuccess(txid, '192.0.2.7', 54321);
    // The address is XORed on the wire, not sent in the clear.
    expect(res.includes(Buffer.from([192, 0, 2, 7]))).toBe(false);
    expect(parseBindingSuccess(res)).toEqual({ transactionId: txid, address: '192.0.2.7', port: 54321 });
  });

  test('an ICE check carries its attributes, MESSAGE-INTEGRITY and FINGERPRINT (RFC 8445 §7.1.1)', () => {
    const key = Buffer.from('the-remote-password-is-long');
    const msg = encodeStun(STUN_BINDING_REQUEST, txid, { username: 'bob1:ali2', priority: 0x6e7fff00 + 255, useCandidate: true, iceControlling: 0x0123456789abcdefn }, key);
    const parsed = parseStun(msg)!;
    expect(parsed).toMatchObject({ type: STUN_BINDING_REQUEST, username: 'bob1:ali2', priority: 0x6e7fffff, useCandidate: true, iceControlling: 0x0123456789abcdefn, hasFingerprint: true });
    expect(verifyIntegrity(msg, parsed, key)).toBe(true);
    expect(verifyIntegrity(msg, parsed, Buffer.from('another password entirely'))).toBe(false);
    // One flipped bit anywhere and the FINGERPRINT no longer matches: the message is not STUN for us.
    for (let i = 0; i < msg.length; i += 7) {
      const bent = Buffer.from(msg);
      bent[i] ^= 0x10;
      const p = parseStun(bent);
      if (p) expect(p.hasFingerprint && verifyIntegrity(bent, p, key) && p.username === 'bob1:ali2').toBe(false);
    }
  });

  test('messages are bounded: wrong lengths, overruns and oversized datagrams are refused', () => {
    const ok = encodeStun(STUN_BINDING_REQUEST, txid, { username: 'a:b', priority: 1 }, Buffer.from('k'));
    expect(parseStun(ok)).not.toBeNull();
    expect(parseStun(ok.subarray(0, ok.length - 4))).toBeNull();
    expect(parseStun(Buffer.concat([ok, Buffer.alloc(4)]))).toBeNull();
    const overrun = Buffer.from(ok);
    overrun.writeUInt16BE(0xfff0, 22);
    expect(parseStun(overrun)).toBeNull();
    const big = Buffer.alloc(STUN_MAX_BYTES + 4);
    big.writeUInt32BE(0x2112a442, 4);
    big.writeUInt16BE(STUN_MAX_BYTES + 4 - 20, 2);
    expect(parseStun(big)).toBeNull();
  });

  test('RTP and junk are not taken for STUN', () => {
    const rtp = Buffer.alloc(32);
    rtp[0] = 0x80;
    expect(looksLikeStun(rtp)).toBe(false);
    expect(parseBindingRequest(Buffer.from('hello world, not stun'))).toBeNull();
    expect(parseBindingSuccess(Buffer.alloc(3))).toBeNull();
  });

  test("the server's UDP port tells a client its reflexive address", async () => {
    const server = await testServer();
    const sock = dgram.createSocket('udp4');
    try {
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
      const reply = new Promise<Buffer>((r) => sock.once('message', (m) => r(m)));
      // An ICE check, a truncated request and junk get nothing; then a plain request is answered.
      sock.send(encodeStun(STUN_BINDING_REQUEST, Buffer.alloc(12, 1), { username: 'a:b', priority: 1 }, Buffer.from('pw')), server.udpPort, '127.0.0.1');
      sock.send(encodeBindingRequest(Buffer.alloc(12, 2)).subarray(0, 24), server.udpPort, '127.0.0.1');
      sock.send(Buffer.alloc(1000, 0), server.udpPort, '127.0.0.1');
      sock.send(encodeBindingRequest(txid), server.udpPort, '127.0.0.1');
      expect(parseBindingSuccess(await reply)).toEqual({ transactionId: txid, address: '127.0.0.1', port: sock.address().port });
    } finally {
      sock.close();
      await server.close();
    }
  });
});
