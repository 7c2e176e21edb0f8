/**
 * Property-based fuzzing of everything that reads a datagram off the media port: RTP, RED,
 * comfort noise (RFC 3389), STUN, the RTCP probes, the first-byte demultiplexer, and the receive path behind them
 * (receiver → jitter buffer → decoder). Arbitrary bytes and mutations of valid packets never
 * throw and never yield out-of-range fields; valid packets round-trip.
 *
 * Seeded, so a failure repeats: fast-check prints the seed and the shrunk counterexample's
 * path. PARLEY_FUZZ_SEED picks another seed, PARLEY_FUZZ_RUNS runs longer (default 500 per
 * property keeps the file within a few seconds for CI).
 */
import fc from 'fast-check';
import { getCodec, type CodecName } from '../../src/audio';
import { classifyPacket } from '../../src/media/demux';
import { JitterBuffer } from '../../src/media/jitter-buffer';
import { Playout } from '../../src/media/playout';
import { RtpReceiver } from '../../src/media/rtp-receiver';
import { decodeProbe, decodeRtp, encodeProbe, encodeRtp, isRtcp, type RtpPacket } from '../../src/protocol/rtp';
import { CN_MAX_COEFFICIENTS, CN_MAX_PAYLOAD_BYTES, decodeComfortNoise, encodeComfortNoise } from '../../src/protocol/comfort-noise';
import { decodeRed, encodeRed, RED_MAX_BLOCK_BYTES, RED_MAX_TIMESTAMP_OFFSET, type RedBlock } from '../../src/protocol/red';
import {
  encodeBindingRequest,
  encodeBindingSuccess,
  encodeChannelData,
  encodeStun,
  longTermKey,
  looksLikeStun,
  parseBindingRequest,
  parseBindingSuccess,
  parseChannelData,
  parseStun,
  STUN_MAX_BYTES,
  stunType,
  TURN_MAX_BYTES,
  TURN_METHOD,
  verifyIntegrity,
} from '../../src/protocol/stun';

const SEED = Number(process.env.PARLEY_FUZZ_SEED ?? 20_240_607);
const RUNS = Number(process.env.PARLEY_FUZZ_RUNS ?? 500);
const params = { seed: SEED, numRuns: RUNS };

/** Edits a valid packet the way a hostile or broken sender might: bytes changed, cut, padded. */
type Mutation = { op: 'set'; at: number; value: number } | { op: 'cut'; at: number } | { op: 'append'; bytes: Uint8Array };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
);

function mutate(buf: Buffer, ops: Mutation[]): Buffer {
  let b = Buffer.from(buf);
  for (const m of ops) {
    if (m.op === 'set' && b.length) b[m.at % b.length] = m.value;
    else if (m.op === 'cut') b = b.subarray(0, b.length ? m.at % (b.length + 1) : 0);
    else if (m.op === 'append') b = Buffer.concat([b, m.bytes]);
  }
  return b;
}

const bytes = fc.uint8Array({ maxLength: 1500 }).map((a) => Buffer.from(a));
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const rtpPacket: fc.Arbitrary<RtpPacket> = fc.record({
  payloadType: fc.integer({ min: 0, max: 127 }),
  sequence: fc.integer({ min: 0, max: 0xffff }),
  timestamp: u32,
  ssrc: u32,
  marker: fc.boolean(),
  payload: fc.uint8Array({ maxLength: 1200 }).map((a) => Buffer.from(a)),
});
/** RTP as others may send it: CSRCs, a header extension, padding. */
const foreignRtp = fc
  .record({ base: rtpPacket, csrcs: fc.integer({ min: 0, max: 15 }), extWords: fc.option(fc.integer({ min: 0, max: 8 })), pad: fc.integer({ min: 0, max: 255 }) })
  .map(({ base, csrcs, extWords, pad }) => {
    const head = encodeRtp({ ...base, payload: Buffer.alloc(0) });
    head[0] |= csrcs | (extWords !== null ? 0x10 : 0) | (pad > 0 ? 0x20 : 0);
    const ext = extWords !== null ? Buffer.concat([Buffer.from([0xbe, 0xde, 0, extWords]), Buffer.alloc(4 * extWords)]) : Buffer.alloc(0);
    const padding = pad > 0 ? Buffer.concat([Buffer.alloc(pad - 1), Buffer.from([pad])]) : Buffer.alloc(0);
    return Buffer.concat([head, Buffer.alloc(4 * csrcs), ext, base.payload, padding]);
  });

function checkRtp(buf: Buffer): void {
  const p = decodeRtp(buf);
  if (!p) return;
  expect(p.payloadType).toBeGreaterThanOrEqual(0);
  expect(p.payloadType).toBeLessThanOrEqual(127);
  expect(p.sequence).toBeLessThanOrEqual(0xffff);
  expect(p.timestamp).toBeLessThanOrEqual(0xffffffff);
  expect(p.ssrc).toBeLessThanOrEqual(0xffffffff);
  expect(p.payload.length).toBeLessThanOrEqual(buf.length - 12);
  // The payload is a view into the datagram, never past its end.
  expect(p.payload.byteOffset + p.payload.length).toBeLessThanOrEqual(buf.byteOffset + buf.length);
}

function checkRed(buf: Buffer): void {
  const blocks = decodeRed(buf);
  if (!blocks) return;
  expect(blocks.length).toBeGreaterThanOrEqual(1);
  expect(blocks[blocks.length - 1].timestampOffset).toBe(0);
  let total = 0;
  for (const b of blocks) {
    expect(b.payloadType).toBeLessThanOrEqual(127);
    expect(b.timestampOffset).toBeLessThanOrEqual(RED_MAX_TIMESTAMP_OFFSET);
    total += b.data.length;
  }
  expect(total + 4 * (blocks.length - 1) + 1).toBe(buf.length);
}

function checkCn(buf: Buffer): void {
  const cn = decodeComfortNoise(buf);
  if (!cn) return;
  expect(buf.length).toBeGreaterThanOrEqual(1);
  expect(buf.length).toBeLessThanOrEqual(CN_MAX_PAYLOAD_BYTES);
  expect(cn.level).toBeGreaterThanOrEqual(0);
  expect(cn.level).toBeLessThanOrEqual(127);
  expect(cn.reflection.length).toBeLessThanOrEqual(CN_MAX_COEFFICIENTS);
  for (const k of cn.reflection) expect(Math.abs(k)).toBeLessThanOrEqual(1);
}

function checkStun(buf: Buffer): void {
  looksLikeStun(buf);
  const msg = parseStun(buf);
  if (msg) expect(buf.length).toBeLessThanOrEqual(STUN_MAX_BYTES);
  const req = parseBindingRequest(buf);
  if (req) expect(req.length).toBe(12);
  const res = parseBindingSuccess(buf);
  if (!res) return;
  expect(res.transactionId.length).toBe(12);
  expect(res.address).toMatch(/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/);
  for (const octet of res.address.split('.')) expect(Number(octet)).toBeLessThanOrEqual(255);
  expect(res.port).toBeLessThanOrEqual(0xffff);
}

/** What the TURN relay reads off the server's UDP port: STUN up to TURN_MAX_BYTES, and ChannelData. */
function checkTurn(buf: Buffer): void {
  const msg = parseStun(buf, TURN_MAX_BYTES);
  if (msg) {
    expect(buf.length).toBeLessThanOrEqual(TURN_MAX_BYTES);
    expect(msg.transactionId.length).toBe(12);
    expect((msg.xorPeerAddresses ?? []).length).toBeLessThanOrEqual(8);
    for (const p of msg.xorPeerAddresses ?? []) {
      expect(p.port).toBeLessThanOrEqual(0xffff);
      expect(p.ip).toMatch(/^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|::)$/);
    }
    if (msg.channelNumber !== undefined) expect(msg.channelNumber).toBeLessThanOrEqual(0xffff);
    if (msg.lifetime !== undefined) expect(msg.lifetime).toBeLessThanOrEqual(0xffffffff);
    if (msg.data) expect(msg.data.length).toBeLessThan(buf.length);
    if (msg.integrityAt !== undefined) {
      expect(msg.integrityAt + 24).toBeLessThanOrEqual(buf.length);
      expect(verifyIntegrity(buf, msg, Buffer.alloc(16))).toBe(false);
    }
  }
  const cd = parseChannelData(buf);
  if (cd) {
    expect(cd.channel).toBeGreaterThanOrEqual(0x4000);
    expect(cd.channel).toBeLessThanOrEqual(0x4fff);
    expect(cd.payload.length).toBeLessThanOrEqual(buf.length - 4);
    expect(buf.length).toBeLessThanOrEqual(TURN_MAX_BYTES);
  }
}

function checkProbe(buf: Buffer): void {
  const p = decodeProbe(buf);
  if (!p) return;
  expect(['ping', 'pong']).toContain(p.kind);
  expect(p.ssrc).toBeLessThanOrEqual(0xffffffff);
  expect(Number.isFinite(p.sentAt)).toBe(true);
  expect(isRtcp(buf)).toBe(true);
}

function checkDemux(buf: Buffer): void {
  const kind = classifyPacket(buf);
  expect(['stun', 'dtls', 'rtp', 'rtcp', 'unknown']).toContain(kind);
  if (kind === 'rtcp') expect(isRtcp(buf)).toBe(true);
  if (kind === 'stun') expect(buf[0]).toBeLessThanOrEqual(3);
}

/** Every reader, on one datagram. */
function readAll(buf: Buffer): void {
  checkDemux(buf);
  checkRtp(buf);
  checkRed(buf);
  checkCn(buf);
  checkStun(buf);
  checkTurn(buf);
  checkProbe(buf);
  const rtp = decodeRtp(buf);
  if (rtp) checkRed(rtp.payload);
  if (rtp) checkCn(rtp.payload);
}

describe(`media packet parsers (fuzz seed ${SEED}, ${RUNS} runs a property)`, () => {
  test('arbitrary bytes never throw and never read out of range', () => {
    fc.assert(fc.property(bytes, (b) => readAll(b)), params);
  });

  test('mutated valid packets of every kind never throw and never read out of range', () => {
    const valid = fc.oneof(
      rtpPacket.map(encodeRtp),
      foreignRtp,
      // A probe whose clock field holds any double at all, NaN and infinities included.
      fc.tuple(fc.constantFrom('ping' as const, 'pong' as const), u32, fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity))).map(([kind, ssrc, sentAt]) => {
        const buf = encodeProbe({ kind, ssrc, sentAt: 0 });
        buf.writeDoubleBE(sentAt, 12);
        return buf;
      }),
      fc.uint8Array({ minLength: 12, maxLength: 12 }).map((t) => encodeBindingRequest(Buffer.from(t))),
      fc.tuple(fc.uint8Array({ minLength: 12, maxLength: 12 }), fc.ipV4(), fc.integer({ min: 0, max: 0xffff })).map(([t, ip, port]) => encodeBindingSuccess(Buffer.from(t), ip, port)),
    );
    fc.assert(fc.property(valid, fc.array(mutation, { maxLength: 6 }), (buf, ops) => readAll(mutate(buf, ops))), params);
  });

  test('TURN messages and ChannelData, valid or mutated, never throw and never read out of range', () => {
    const txid = fc.uint8Array({ minLength: 12, maxLength: 12 }).map((a) => Buffer.from(a));
    const peer = fc.record({ ip: fc.ipV4(), port: fc.integer({ min: 0, max: 0xffff }) });
    const data = fc.uint8Array({ maxLength: 4000 }).map((a) => Buffer.from(a));
    const request = fc
      .record({
        method: fc.constantFrom(...Object.values(TURN_METHOD)),
        cls: fc.constantFrom('REQUEST' as const, 'INDICATION' as const, 'SUCCESS' as const, 'ERROR' as const),
        txn: txid,
        username: fc.option(fc.string({ maxLength: 80 }), { nil: undefined }),
        nonce: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
        lifetime: fc.option(u32, { nil: undefined }),
        channelNumber: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
        xorPeerAddresses: fc.option(fc.array(peer, { maxLength: 8 }), { nil: undefined }),
        data: fc.option(data, { nil: undefined }),
        signed: fc.boolean(),
      })
      .map(({ method, cls, txn, signed, ...attrs }) =>
        encodeStun(stunType(method, cls), txn, { ...attrs, realm: 'parley', requestedTransport: 17 }, signed ? longTermKey('u', 'parley', 'p') : undefined),
      );
    const channelData = fc.tuple(fc.integer({ min: 0x4000, max: 0x4fff }), data).map(([ch, d]) => encodeChannelData(ch, d));
    const big = fc.uint8Array({ maxLength: 5000 }).map((a) => Buffer.from(a));
    fc.assert(fc.property(fc.oneof(request, channelData, big), fc.array(mutation, { maxLength: 6 }), (buf, ops) => checkTurn(mutate(buf, ops))), params);
    // Valid ones parse, within bounds.
    fc.assert(
      fc.property(fc.oneof(request, channelData), (buf) => {
        if (buf.length <= TURN_MAX_BYTES) expect(parseStun(buf, TURN_MAX_BYTES) ?? parseChannelData(buf)).not.toBeNull();
      }),
      params,
    );
  });

  test('RTP round-trips, and others\' CSRCs, extensions and padding are skipped', () => {
    fc.assert(
      fc.property(rtpPacket, (p) => {
        expect(decodeRtp(encodeRtp(p))).toEqual(p);
      }),
      params,
    );
    fc.assert(fc.property(foreignRtp, (buf) => expect(decodeRtp(buf)).not.toBeNull()), params);
  });

  test('RED round-trips whatever its headers can describe', () => {
    const block = fc.record({
      payloadType: fc.integer({ min: 0, max: 127 }),
      timestampOffset: fc.integer({ min: 1, max: RED_MAX_TIMESTAMP_OFFSET }),
      data: fc.uint8Array({ maxLength: RED_MAX_BLOCK_BYTES }).map((a) => Buffer.from(a)),
    });
    const primary = fc.record({ payloadType: fc.integer({ min: 0, max: 127 }), data: fc.uint8Array({ maxLength: 1200 }).map((a) => Buffer.from(a)) });
    fc.assert(
      fc.property(primary, fc.array(block, { maxLength: 4 }), (p, blocks: RedBlock[]) => {
        expect(decodeRed(encodeRed(p, blocks))).toEqual([...blocks, { ...p, timestampOffset: 0 }]);
      }),
      params,
    );
  });

  test('comfort noise round-trips its level and coefficients within quantization, and mutations stay bounded', () => {
    const cn = fc.record({
      level: fc.integer({ min: 0, max: 127 }),
      reflection: fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { maxLength: CN_MAX_COEFFICIENTS }),
    });
    fc.assert(
      fc.property(cn, (c) => {
        const back = decodeComfortNoise(encodeComfortNoise(c))!;
        expect(back.level).toBe(c.level);
        expect(back.reflection.length).toBe(c.reflection.length);
        back.reflection.forEach((k, i) => expect(Math.abs(k - c.reflection[i])).toBeLessThanOrEqual(0.5 / 127 + 1e-9));
      }),
      params,
    );
    fc.assert(fc.property(cn, fc.array(mutation, { maxLength: 6 }), (c, ops) => checkCn(mutate(encodeComfortNoise(c), ops))), params);
  });

  test('STUN binding messages and RTCP probes round-trip', () => {
    const txid = fc.uint8Array({ minLength: 12, maxLength: 12 }).map((a) => Buffer.from(a));
    fc.assert(
      fc.property(txid, fc.ipV4(), fc.integer({ min: 0, max: 0xffff }), (t, address, port) => {
        expect(parseBindingRequest(encodeBindingRequest(t))).toEqual(t);
        expect(parseBindingSuccess(encodeBindingSuccess(t, address, port))).toEqual({ transactionId: t, address, port });
      }),
      params,
    );
    fc.assert(
      fc.property(fc.constantFrom('ping' as const, 'pong' as const), u32, fc.double({ noNaN: true, noDefaultInfinity: true }), (kind, ssrc, sentAt) => {
        expect(decodeProbe(encodeProbe({ kind, ssrc, sentAt }))).toEqual({ kind, ssrc, sentAt });
      }),
      params,
    );
  });
});

describe.each<[CodecName, number, number]>([
  ['pcm', 96, 320],
  ['opus', 111, 960],
])(`the %s receive path (fuzz seed ${SEED})`, (name, payloadType, step) => {
  test('turns any stream of packets from the peer into exactly one 20 ms frame a tick', () => {
    const codec = getCodec(name);
    // Packets as a hostile peer could make them: bare or RED, any payload, nearby timestamps.
    const packet = fc.record({
      red: fc.boolean(),
      // A comfort-noise packet (any payload, bounded or not) in place of audio.
      cn: fc.boolean(),
      sequence: fc.integer({ min: 0, max: 0xffff }),
      frame: fc.integer({ min: -3, max: 40 }),
      payload: fc.oneof(fc.uint8Array({ maxLength: 2000 }), fc.constant(new Uint8Array(name === 'pcm' ? 640 : 0))).map((a) => Buffer.from(a)),
      extra: fc.array(fc.record({ back: fc.integer({ min: 0, max: 3 }), data: fc.uint8Array({ maxLength: 700 }).map((a) => Buffer.from(a)) }), { maxLength: 2 }),
    });
    fc.assert(
      fc.property(fc.array(packet, { minLength: 1, maxLength: 40 }), fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 40 }), (packets, gaps) => {
        const decoder = codec.createDecoder({ frameMs: 20 });
        const buffer = new JitterBuffer<Buffer>({ frameMs: 20 });
        const receiver = new RtpReceiver({ payloadType, red: { payloadType: 63 }, cn: { payloadType: 105 }, timestampStep: step, clockRate: codec.clockRate, fits: (p) => decoder.fits(p) }, buffer);
        const playout = new Playout(buffer, decoder, 20, () => undefined);
        let now = 0;
        packets.forEach((p, i) => {
          const payload = p.cn
            ? p.payload.subarray(0, p.payload.length % 16)
            : p.red
            ? encodeRed({ payloadType, data: p.payload }, p.extra.map((e) => ({ payloadType, timestampOffset: (e.back + 1) * step, data: e.data })))
            : p.payload;
          const buf = encodeRtp({ payloadType: p.cn ? 105 : p.red ? 63 : payloadType, sequence: p.sequence, timestamp: (p.frame * step) >>> 0, ssrc: 1, marker: false, payload });
          const rtp = decodeRtp(buf);
          if (rtp) receiver.receive(rtp, buf.length, now);
          now += gaps[i % gaps.length];
          expect(playout.tick(now).length).toBe(960);
        });
        decoder.close();
      }),
      { ...params, numRuns: Math.max(1, Math.round(RUNS / 5)) },
    );
  });
});
