import dgram from 'node:dgram';
import { encodeBindingRequest, encodeBindingSuccess, looksLikeStun, parseBindingRequest, parseBindingSuccess } from '../../src/protocol';
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
      sock.send(encodeBindingRequest(txid), server.udpPort, '127.0.0.1');
      expect(parseBindingSuccess(await reply)).toEqual({ transactionId: txid, address: '127.0.0.1', port: sock.address().port });
    } finally {
      sock.close();
      await server.close();
    }
  });
});
