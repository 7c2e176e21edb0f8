import {
  CHANNEL_MAX,
  CHANNEL_MIN,
  classOf,
  encodeChannelData,
  encodeStun,
  longTermKey,
  looksLikeChannelData,
  methodOf,
  parseChannelData,
  parseStun,
  STUN_BINDING_REQUEST,
  STUN_BINDING_SUCCESS,
  STUN_MAX_BYTES,
  stunType,
  TRANSPORT_UDP,
  TURN_MAX_BYTES,
  TURN_METHOD,
  verifyIntegrity,
} from '../../src/protocol';
import { mint, parseTurnUser, turnPassword, verify } from '../../src/server/turn/credentials';

const txn = Buffer.from('abcdefghijkl');

describe('TURN in the STUN codec (RFC 8656)', () => {
  test('message types: method and class in, method and class out', () => {
    expect(stunType(TURN_METHOD.ALLOCATE, 'REQUEST')).toBe(0x0003);
    expect(stunType(TURN_METHOD.ALLOCATE, 'SUCCESS')).toBe(0x0103);
    expect(stunType(TURN_METHOD.ALLOCATE, 'ERROR')).toBe(0x0113);
    expect(stunType(TURN_METHOD.SEND, 'INDICATION')).toBe(0x0016);
    expect(stunType(TURN_METHOD.DATA, 'INDICATION')).toBe(0x0017);
    expect(stunType(TURN_METHOD.CHANNEL_BIND, 'REQUEST')).toBe(0x0009);
    for (const method of Object.values(TURN_METHOD)) {
      for (const cls of ['REQUEST', 'INDICATION', 'SUCCESS', 'ERROR'] as const) {
        expect(methodOf(stunType(method, cls))).toBe(method);
        expect(classOf(stunType(method, cls))).toBe(cls);
      }
    }
    expect(methodOf(STUN_BINDING_REQUEST)).toBe(1);
    expect(classOf(STUN_BINDING_SUCCESS)).toBe('SUCCESS');
    // Method bits spread around the class bits (RFC 8489 §5): 0x3eef is method 0xfff.
    expect(methodOf(0x3eef)).toBe(0xfff);
  });

  test('each TURN attribute round-trips', () => {
    const attrs = {
      username: '1700000000:0123456789abcdef0123456789abcdef:alice',
      realm: 'parley',
      nonce: 'abc.def',
      lifetime: 3600,
      requestedTransport: TRANSPORT_UDP,
      channelNumber: 0x4abc,
      xorPeerAddresses: [
        { ip: '192.0.2.1', port: 1 },
        { ip: '198.51.100.200', port: 65535 },
      ],
      xorRelayedAddress: { ip: '203.0.113.9', port: 49152 },
      xorMappedAddress: { ip: '10.0.0.1', port: 5000 },
      data: Buffer.from('some media, odd length'),
      errorCode: 486,
      errorReason: 'Allocation Quota Reached',
    };
    const buf = encodeStun(stunType(TURN_METHOD.ALLOCATE, 'ERROR'), txn, attrs);
    const msg = parseStun(buf, TURN_MAX_BYTES)!;
    // The reason phrase is written, not read back.
    const { errorReason, ...read } = attrs;
    expect(errorReason).toBeDefined();
    expect(msg.errorReason).toBeUndefined();
    expect(msg).toMatchObject({ ...read, type: 0x0113, transactionId: txn, hasFingerprint: true });
    // XOR addresses are not sent in the clear.
    expect(buf.includes(Buffer.from([203, 0, 113, 9]))).toBe(false);
  });

  test('a zero lifetime and an empty DATA survive', () => {
    const msg = parseStun(encodeStun(stunType(TURN_METHOD.REFRESH, 'REQUEST'), txn, { lifetime: 0, data: Buffer.alloc(0) }), TURN_MAX_BYTES)!;
    expect(msg.lifetime).toBe(0);
    expect(msg.data).toEqual(Buffer.alloc(0));
  });

  test('long-term credentials: the key is MD5(username:realm:password); integrity checks with it and fails with another', () => {
    expect(longTermKey('user', 'realm', 'pass').toString('hex')).toBe('8493fbc53ba582fb4c044c456bdc40eb');
    const key = longTermKey('u', 'parley', 'secret');
    const buf = encodeStun(stunType(TURN_METHOD.ALLOCATE, 'REQUEST'), txn, { username: 'u', realm: 'parley', nonce: 'n', requestedTransport: 17 }, key);
    const msg = parseStun(buf, TURN_MAX_BYTES)!;
    expect(msg.integrityAt).toBeDefined();
    expect(verifyIntegrity(buf, msg, key)).toBe(true);
    expect(verifyIntegrity(buf, msg, longTermKey('u', 'parley', 'other'))).toBe(false);
    // Any byte changed under MESSAGE-INTEGRITY (FINGERPRINT recomputed by hand would be needed): rejected.
    const tampered = Buffer.from(buf);
    tampered[30] ^= 1;
    const t = parseStun(tampered, TURN_MAX_BYTES);
    expect(t === null || !verifyIntegrity(tampered, t, key)).toBe(true);
  });

  test('ChannelData round-trips; padding is tolerated; bad channels and lengths are not', () => {
    const payload = Buffer.from('hello');
    const cd = encodeChannelData(0x4001, payload);
    expect(looksLikeChannelData(cd)).toBe(true);
    expect(parseChannelData(cd)).toEqual({ channel: 0x4001, payload });
    expect(parseChannelData(Buffer.concat([cd, Buffer.alloc(3)]))).toEqual({ channel: 0x4001, payload });
    expect(parseChannelData(Buffer.concat([cd, Buffer.alloc(4)]))).toBeNull();
    expect(parseChannelData(cd.subarray(0, cd.length - 1))).toBeNull();
    expect(parseChannelData(encodeChannelData(0x3fff, payload))).toBeNull();
    expect(parseChannelData(encodeChannelData(0x5000, payload))).toBeNull();
    expect(parseChannelData(encodeChannelData(CHANNEL_MIN, Buffer.alloc(0)))).toEqual({ channel: CHANNEL_MIN, payload: Buffer.alloc(0) });
    expect(parseChannelData(encodeChannelData(CHANNEL_MAX, Buffer.alloc(TURN_MAX_BYTES - 4)))).not.toBeNull();
    expect(parseChannelData(encodeChannelData(CHANNEL_MAX, Buffer.alloc(TURN_MAX_BYTES - 3)))).toBeNull();
    expect(parseChannelData(Buffer.from([0x40, 0]))).toBeNull();
  });

  test('malformed TURN messages are rejected', () => {
    const ok = encodeStun(stunType(TURN_METHOD.CHANNEL_BIND, 'REQUEST'), txn, { channelNumber: 0x4000, xorPeerAddresses: [{ ip: '192.0.2.1', port: 9 }] });
    expect(parseStun(ok, TURN_MAX_BYTES)).not.toBeNull();
    // Bigger than plain STUN allows unless TURN's bound is asked for; never past TURN's.
    const big = encodeStun(stunType(TURN_METHOD.SEND, 'INDICATION'), txn, { xorPeerAddresses: [{ ip: '192.0.2.1', port: 9 }], data: Buffer.alloc(1000) });
    expect(parseStun(big)).toBeNull();
    expect(parseStun(big, TURN_MAX_BYTES)).not.toBeNull();
    expect(big.length).toBeGreaterThan(STUN_MAX_BYTES);
    const huge = encodeStun(stunType(TURN_METHOD.SEND, 'INDICATION'), txn, { data: Buffer.alloc(TURN_MAX_BYTES) });
    expect(parseStun(huge, TURN_MAX_BYTES)).toBeNull();
    // A known attribute of the wrong size: LIFETIME of 2 bytes, CHANNEL-NUMBER of 8.
    const attr = (type: number, len: number) => {
      const a = Buffer.alloc(4 + len + ((4 - (len % 4)) % 4));
      a.writeUInt16BE(type, 0);
      a.writeUInt16BE(len, 2);
      return a;
    };
    const withAttr = (a: Buffer) => {
      const head = Buffer.alloc(20);
      head.writeUInt16BE(0x0003, 0);
      head.writeUInt16BE(a.length, 2);
      head.writeUInt32BE(0x2112a442, 4);
      txn.copy(head, 8);
      return Buffer.concat([head, a]);
    };
    expect(parseStun(withAttr(attr(0x000d, 4)), TURN_MAX_BYTES)).not.toBeNull();
    expect(parseStun(withAttr(attr(0x000d, 2)), TURN_MAX_BYTES)).toBeNull();
    expect(parseStun(withAttr(attr(0x000c, 8)), TURN_MAX_BYTES)).toBeNull();
    expect(parseStun(withAttr(attr(0x0019, 3)), TURN_MAX_BYTES)).toBeNull();
    expect(parseStun(withAttr(attr(0x0012, 12)), TURN_MAX_BYTES)).toBeNull();
    expect(parseStun(withAttr(attr(0x0014, 764)), TURN_MAX_BYTES)).toBeNull();
    // More than 8 XOR-PEER-ADDRESS attributes.
    const nine = Array.from({ length: 9 }, (_, i) => ({ ip: `192.0.2.${i}`, port: i }));
    expect(parseStun(encodeStun(stunType(TURN_METHOD.CREATE_PERMISSION, 'REQUEST'), txn, { xorPeerAddresses: nine }), TURN_MAX_BYTES)).toBeNull();
    // An IPv6 peer is kept as an unusable address, so the relay refuses it rather than ignoring it.
    const v6 = attr(0x0012, 20);
    v6[5] = 0x02;
    expect(parseStun(withAttr(v6), TURN_MAX_BYTES)!.xorPeerAddresses).toEqual([{ ip: '::', port: 0 }]);
  });
});

describe('TURN REST credentials', () => {
  const secret = 's3cret';
  const callId = '0123456789abcdef0123456789abcdef';

  test('mint and verify: expiry:call:name, base64 HMAC-SHA1 (coturn use-auth-secret)', () => {
    const c = mint(secret, { callId, name: 'alice' }, 600, 1_700_000_000);
    expect(c.username).toBe(`1700000600:${callId}:alice`);
    expect(c.password).toBe(turnPassword(secret, c.username));
    expect(Buffer.from(c.password, 'base64')).toHaveLength(20);
    expect(verify(secret, c.username, c.password, 1_700_000_000)).toEqual({ expiry: 1_700_000_600, callId, name: 'alice' });
    expect(verify(secret, c.username, undefined, 1_700_000_599)).not.toBeNull();
  });

  test('expired, wrong password, another secret, malformed: null', () => {
    const c = mint(secret, { callId, name: 'alice' }, 600, 1_700_000_000);
    expect(verify(secret, c.username, c.password, 1_700_000_600)).toBeNull();
    expect(verify(secret, c.username, 'x' + c.password.slice(1), 1_700_000_000)).toBeNull();
    expect(verify('other', c.username, c.password, 1_700_000_000)).toBeNull();
    for (const u of ['', 'alice', `1700000600:${callId}`, `x:${callId}:alice`, `1700000600:${callId.toUpperCase()}:alice`, `1700000600:${callId}:al ice`, `1700000600:${callId}:${'a'.repeat(33)}`, `1${'0'.repeat(20)}:${callId}:alice`]) {
      expect(verify(secret, u, turnPassword(secret, u), 0)).toBeNull();
    }
    expect(parseTurnUser(c.username)).toEqual({ expiry: 1_700_000_600, callId, name: 'alice' });
  });
});
