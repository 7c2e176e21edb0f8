/**
 * A media session's silence suppression, packet by packet, on a manual clock: what it sends
 * around a silence (CN, updates, the marker bit, contiguous sequence numbers, a clean RED restart),
 * what a muted session sends, and how it plays a peer's stream with DTX gaps (comfort noise, no
 * loss, no concealment). A test socket stands in for the peer.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { OpusEncoder } from '@discordjs/opus';
import { getCodec, int16ToLE, PacedSource, type AudioSink, type Frame } from '../../src/audio';
import type { FrameProcessor } from '../../src/audio/processing/frame-processor';
import { SrtpOpener } from '../../src/media/crypto/srtp-gcm';
import { MediaSession } from '../../src/media/media-session';
import { CN_PAYLOAD_TYPE, RED_PAYLOAD_TYPE, type Agreement } from '../../src/media/negotiation';
import { UdpLink } from '../../src/media/udp-link';
import { decodeComfortNoise, encodeComfortNoise } from '../../src/protocol/comfort-noise';
import { decodeRed } from '../../src/protocol/red';
import { decodeRtp, encodeRtp, type RtpPacket } from '../../src/protocol/rtp';
import { ManualTimers } from '../helpers/audio';
import { answerChecks, iceFields } from '../helpers/ice-peer';
import { peerSealer, TEST_KEYS } from '../helpers/media-keys';
import { waitUntil } from '../helpers/wait';

const PEER_SSRC = 0x5eed;
const STEP = 960;

/** A steady tone with a little noise on the manual clock. */
class ToneFrames extends PacedSource {
  readonly description = 'tone';
  private n = 0;
  protected nextFrame(samples: number): Frame {
    const f = new Int16Array(samples);
    for (let i = 0; i < samples; i++, this.n++) f[i] = Math.round(3000 * Math.sin(this.n / 9) + ((this.n * 7919) % 61) - 30);
    return f;
  }
}

class Sink extends EventEmitter implements AudioSink {
  readonly description = 'test';
  readonly frames: Frame[] = [];
  async open(): Promise<void> {}
  write(f: Frame): void {
    this.frames.push(f.slice());
  }
  async close(): Promise<void> {}
}

/** Voice processing that says what the script says, and counts what it is given. */
class ScriptedVoice implements FrameProcessor {
  verdict: boolean | null = true;
  captured = 0;
  played = 0;
  closed = 0;
  capture(): boolean | null {
    this.captured++;
    return this.verdict;
  }
  playback(): void {
    this.played++;
  }
  close(): void {
    this.closed++;
  }
}

async function rig(opts: { dtx?: boolean; cn?: boolean; voice?: FrameProcessor }) {
  const peer = dgram.createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
  answerChecks(peer);
  const opener = new SrtpOpener(TEST_KEYS.send);
  const got: RtpPacket[] = [];
  peer.on('message', (m) => {
    if (m.length < 12 || (m[0] & 0xc0) !== 0x80 || m[1] === 0x01) return;
    const opened = opener.open(m);
    if (opened.ok) got.push(decodeRtp(opened.packet)!);
  });
  const link = await UdpLink.open({ host: '127.0.0.1' });
  const timers = new ManualTimers();
  const agreement: Agreement = {
    codec: { name: 'opus', payloadType: 111, clockRate: 48000, frameMs: 20 },
    red: { payloadType: RED_PAYLOAD_TYPE },
    cn: opts.cn === false ? false : { payloadType: CN_PAYLOAD_TYPE },
    localSsrc: 1,
    remoteSsrc: PEER_SSRC,
    remoteCandidates: [{ ip: '127.0.0.1', port: peer.address().port, type: 'host' }],
    ...iceFields,
    keys: TEST_KEYS,
  };
  const sink = new Sink();
  const session = new MediaSession({
    link,
    agreement,
    codec: getCodec('opus'),
    source: new ToneFrames({ timers }),
    sink,
    timers,
    dtx: opts.dtx,
    voice: opts.voice,
    path: { consentTimeoutMs: 600_000 },
  });
  await session.start();
  timers.advance(0);
  await waitUntil(() => session.connected, 'the check to be answered', 15_000, 1);
  /** Runs `frames` frames of the session's clock, letting what they send arrive. */
  const frames = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const before = session.stats().packetsSent;
      timers.advance(20);
      const sent = session.stats().packetsSent;
      if (sent > before) await waitUntil(() => got.length >= sent, 'the packets to arrive', 15_000, 1);
    }
  };
  return { peer, link, timers, session, sink, got, frames, close: async () => (await session.stop(), peer.close()) };
}

test('DTX around a silence: one CN, an update 400 ms on, then speech with the marker, contiguous sequence numbers, timestamps that jump, and no redundancy from before the gap', async () => {
  const voice = new ScriptedVoice();
  const r = await rig({ dtx: true, voice });
  await r.frames(10);
  voice.verdict = false;
  await r.frames(30);
  voice.verdict = true;
  await r.frames(10);
  const { got } = r;
  const kinds = got.map((p) => (p.payloadType === CN_PAYLOAD_TYPE ? 'cn' : 'audio'));
  expect(kinds).toEqual([...Array(10).fill('audio'), 'cn', 'cn', ...Array(10).fill('audio')]);
  for (let i = 1; i < got.length; i++) expect(got[i].sequence).toBe((got[i - 1].sequence + 1) & 0xffff);
  const ts0 = got[0].timestamp;
  const at = (p: RtpPacket) => ((p.timestamp - ts0) >>> 0) / STEP;
  expect(got.map(at)).toEqual([...Array.from({ length: 10 }, (_, i) => i), 10, 30, ...Array.from({ length: 10 }, (_, i) => 40 + i)]);
  expect(got[12].marker).toBe(true);
  expect(got.filter((p) => p.marker).length).toBe(2);
  expect(decodeRed(got[12].payload)!.length).toBe(1);
  expect(decodeRed(got[13].payload)!.length).toBe(2);
  const cn = decodeComfortNoise(got[10].payload)!;
  expect(cn.level).toBeGreaterThan(10);
  expect(cn.level).toBeLessThan(127);
  const stats = r.session.stats();
  expect(stats).toMatchObject({ framesSuppressed: 30, cnPacketsSent: 2, packetsSent: 22 });
  expect(voice.captured).toBeGreaterThanOrEqual(50);
  await r.close();
  expect(voice.closed).toBe(1);
});

test('with no verdict from the processing, DTX uses its own VAD; without DTX every frame goes, verdict or not', async () => {
  const voice = new ScriptedVoice();
  voice.verdict = null;
  const r = await rig({ dtx: true, voice });
  await r.frames(20);
  // A steady tone from the start is speech at first (the floor starts low) and goes out.
  expect(r.got.length).toBeGreaterThanOrEqual(19);
  expect(r.session.activity().sending).toBe(true);
  await r.close();
  const v2 = new ScriptedVoice();
  v2.verdict = false;
  const off = await rig({ dtx: false, voice: v2 });
  await off.frames(20);
  expect(off.got.filter((p) => p.payloadType === RED_PAYLOAD_TYPE).length).toBe(off.session.stats().packetsSent);
  expect(off.session.stats()).toMatchObject({ framesSuppressed: 0, cnPacketsSent: 0 });
  expect(off.session.activity().sending).toBe(false);
  await off.close();
});

test('muted: nothing processed or encoded; a "silence" CN at once and one a second; unmuting resumes with the marker', async () => {
  const voice = new ScriptedVoice();
  const r = await rig({ dtx: false, voice });
  await r.frames(5);
  const captured = voice.captured;
  r.session.muted = true;
  await r.frames(110);
  expect(voice.captured).toBe(captured);
  const muted = r.got.slice(5);
  expect(muted.map((p) => p.payloadType)).toEqual([CN_PAYLOAD_TYPE, CN_PAYLOAD_TYPE, CN_PAYLOAD_TYPE]);
  expect(muted.map((p) => decodeComfortNoise(p.payload)?.level)).toEqual([127, 127, 127]);
  r.session.muted = false;
  await r.frames(3);
  const resumed = r.got[8];
  expect(resumed.payloadType).toBe(RED_PAYLOAD_TYPE);
  expect(resumed.marker).toBe(true);
  expect(decodeRed(resumed.payload)!.length).toBe(1);
  for (let i = 1; i < r.got.length; i++) expect(r.got[i].sequence).toBe((r.got[i - 1].sequence + 1) & 0xffff);
  expect(r.session.stats().framesSuppressed).toBe(0);
  await r.close();
});

test('muted without comfort noise sends nothing at all', async () => {
  const r = await rig({ cn: false });
  await r.frames(5);
  r.session.muted = true;
  await r.frames(60);
  expect(r.got.length).toBe(5);
  await r.close();
});

test("a peer's stream with DTX gaps: comfort noise in them, never digital silence, no loss, nothing concealed; every tick reaches the voice processing's echo reference", async () => {
  const voice = new ScriptedVoice();
  const r = await rig({ dtx: false, voice });
  const seal = peerSealer();
  const enc = new OpusEncoder(48000, 1);
  const tone = (k: number) => int16ToLE(Int16Array.from({ length: STEP }, (_, i) => Math.round(6000 * Math.sin(((k * STEP + i) * 2 * Math.PI * 220) / 48000))));
  const noise = encodeComfortNoise({ level: 60, reflection: [0.3, -0.1] });
  let seq = 100;
  const send = (pt: number, frame: number, payload: Buffer, marker = false) => {
    r.peer.send(seal.seal(encodeRtp({ payloadType: pt, sequence: seq++ & 0xffff, timestamp: frame * STEP, ssrc: PEER_SSRC, marker, payload })), r.link.port, '127.0.0.1');
  };
  // Speech 0..49, silence 50..149 (CN at 50, updates every 20 frames), speech 150..199.
  for (let k = 0; k < 200; k++) {
    const received = r.session.stats().packetsReceived;
    let expected = received;
    if (k < 50 || k >= 150) {
      send(RED_PAYLOAD_TYPE, k, Buffer.concat([Buffer.from([111]), enc.encode(tone(k))]), k === 0 || k === 150);
      expected++;
    } else if ((k - 50) % 20 === 0) {
      send(CN_PAYLOAD_TYPE, k, noise);
      expected++;
    }
    if (expected > received) await waitUntil(() => r.session.stats().packetsReceived === expected, `packet ${k}`, 15_000, 1);
    r.timers.advance(20);
  }
  const s = r.session.stats();
  expect(s).toMatchObject({ packetsLost: 0, concealedMs: 0, packetsLate: 0, cnPacketsReceived: 5 });
  expect(s.comfortNoiseMs).toBe(100 * 20);
  // From the second frame of sound on (the decoder's first frame starts with its look-ahead's zeros).
  const first = r.sink.frames.findIndex((f) => f.some((x) => x !== 0));
  let run = 0;
  let longest = 0;
  for (const f of r.sink.frames.slice(first + 1))
    for (const x of f) {
      run = x === 0 ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
  expect(longest).toBeLessThanOrEqual(48);
  expect(voice.played).toBe(r.sink.frames.length);
  await r.close();
});
