/**
 * Whatever the peer sends, the sink gets one agreed frame per playout tick. A peer that sent
 * 64 KB L16 payloads (or 120 ms Opus packets where 20 ms frames were agreed) used to make each
 * tick play seconds of audio: a 5 s call wrote a 347 s WAV.
 */
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpusEncoder } from '@discordjs/opus';
import { SilenceSource, WavFileSink, decodeWav, getCodec, int16ToLE, type CodecName } from '../../src/audio';
import { opusPacketSamples } from '../../src/audio/codecs/opus-packet';
import { MediaSession } from '../../src/media/media-session';
import type { Agreement } from '../../src/media/negotiation';
import { UdpLink } from '../../src/media/udp-link';
import { encodeRtp } from '../../src/protocol/rtp';
import { peerSealer, TEST_KEYS } from '../helpers/media-keys';
import { ManualTimers } from '../helpers/audio';
import { answerChecks, iceFields } from '../helpers/ice-peer';
import { waitUntil } from '../helpers/wait';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'parley-frames-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PEER_SSRC = 0x5eed;

/** Payloads of an honest frame and of a hostile one, per codec. */
function payloads(codec: CodecName): { good: Buffer; bad: Buffer } {
  if (codec === 'pcm') {
    // 20 ms at 16 kHz is 320 samples; the hostile one is 32,000 (2 s) in one 64 KB payload.
    return { good: Buffer.alloc(640, 1), bad: Buffer.alloc(64000, 2) };
  }
  const enc = new OpusEncoder(48000, 1);
  const tone = (n: number) => int16ToLE(Int16Array.from({ length: n }, (_, i) => Math.round(8000 * Math.sin(i / 7))));
  return { good: enc.encode(tone(960)), bad: enc.encode(tone(5760)) };
}

describe.each<[CodecName, number]>([
  ['pcm', 96],
  ['opus', 111],
])('a %s peer sending payloads longer than the agreed 20 ms frame', (codec, payloadType) => {
  test('gets one 20 ms frame played per tick, the rest dropped and counted: the WAV lasts as long as the call', async () => {
    const { good, bad } = payloads(codec);
    if (codec === 'opus') {
      expect(opusPacketSamples(good)).toBe(960);
      expect(opusPacketSamples(bad)).toBe(5760);
    }
    const peer = dgram.createSocket('udp4');
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
    const link = await UdpLink.open({ host: '127.0.0.1' });
    const timers = new ManualTimers();
    const path = join(dir, `${codec}.wav`);
    const sink = new WavFileSink(path);
    const written: number[] = [];
    const write = sink.write.bind(sink);
    sink.write = (frame) => {
      written.push(frame.length);
      write(frame);
    };
    const agreement: Agreement = {
      codec: { name: codec, payloadType, clockRate: codec === 'pcm' ? 16000 : 48000, frameMs: 20 },
      red: false,
      localSsrc: 1,
      remoteSsrc: PEER_SSRC,
      remoteCandidates: [{ ip: '127.0.0.1', port: peer.address().port, type: 'host' }],
      ...iceFields,
      keys: TEST_KEYS,
    };
    const seal = peerSealer();
    answerChecks(peer);
    const session = new MediaSession({ link, agreement, codec: getCodec(codec), source: new SilenceSource({ timers }), sink, timers });
    try {
      await session.start();
      // The peer's address is heard from only once it has answered a check.
      timers.advance(0);
      await waitUntil(() => session.connected, 'the check to be answered', 15_000, 1);
      const step = codec === 'pcm' ? 320 : 960;
      const packets = 50;
      // One packet every 20 ms of the session's time, every other one hostile.
      for (let i = 0; i < packets; i++) {
        const payload = i % 2 === 0 ? good : bad;
        peer.send(seal.seal(encodeRtp({ payloadType, sequence: i, timestamp: i * step, ssrc: PEER_SSRC, marker: i === 0, payload })), link.port, '127.0.0.1');
        await waitUntil(() => session.stats().packetsReceived === i + 1, `packet ${i} to arrive`, 15_000, 1);
        timers.advance(20);
      }
      const stats = session.stats();
      await session.stop();
      expect(stats.framesRejected).toBe(packets / 2);
      expect(written.length).toBeGreaterThan(40);
      expect(new Set(written)).toEqual(new Set([960]));
      // Every tick played one frame: the file holds no more audio than the call lasted (1 s).
      const wav = decodeWav(readFileSync(path));
      expect(wav.samples.length).toBe(written.length * 960);
      expect(wav.samples.length).toBeLessThanOrEqual(((packets * 20) / 1000) * 48000);
    } finally {
      await session.stop();
      peer.close();
    }
  });
});

describe('Opus packet durations (RFC 6716 §3.1)', () => {
  test.each<[string, number[], number | null]>([
    ['one 20 ms CELT frame', [0xf8, 1, 2], 960],
    ['two 10 ms frames of equal size', [0xf1, 1, 2], 960],
    ['code 1 with an odd body', [0xf9, 1], null],
    ['code 2 without its length byte', [0xfa], null],
    ['six 20 ms frames: 120 ms', [0xfb, 6, 0, 0], 5760],
    ['code 3 with no frames', [0xfb, 0], null],
    ['seven 20 ms frames: over 120 ms', [0xfb, 7], null],
    ['a 60 ms SILK frame', [0x18, 0], 2880],
    ['an empty packet', [], null],
  ])('%s', (_what, bytes, samples) => {
    expect(opusPacketSamples(Buffer.from(bytes))).toBe(samples);
  });

  test('a frame count within limits but more bytes than its frames can hold is refused', () => {
    expect(opusPacketSamples(Buffer.concat([Buffer.from([0xf8]), Buffer.alloc(1276)]))).toBe(960);
    expect(opusPacketSamples(Buffer.concat([Buffer.from([0xf8]), Buffer.alloc(60_000)]))).toBeNull();
  });
});
