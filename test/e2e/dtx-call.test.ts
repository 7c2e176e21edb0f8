/**
 * Silence suppression end to end: two media sessions over loopback, real time. A source that is
 * half silence (2 s of speech-like tone, 2 s of quiet background, over and over) with DTX on
 * sends little more than half the packets; the receiver fills the gaps with comfort noise (never
 * digital silence), counts no loss; a muted side encodes nothing; DTX off sends every frame.
 */
import { getCodec, PacedSource, SilenceSource, type AudioSource, type Codec, type Frame } from '../../src/audio';
import { seededRandom, speechLike } from '../../src/audio/signals';
import { MediaSession } from '../../src/media/media-session';
import { CN_PAYLOAD_TYPE, RED_PAYLOAD_TYPE, type Agreement } from '../../src/media/negotiation';
import { UdpLink } from '../../src/media/udp-link';
import { TEST_KEYS } from '../helpers/media-keys';
import { PEER_ICE, SELF_ICE } from '../helpers/ice-peer';
import { waitUntil } from '../helpers/wait';
import { LoopStalls, RecordingSink } from './media-helpers';

jest.setTimeout(150_000);

const FRAME_MS = 20;
/** Frames per half cycle: 2 s of speech, then 2 s of background. */
const HALF = 100;

/** Speech (speechLike) over a quiet background (white noise at about −55 dBFS) and the background alone; `speechOnly` without the background halves. */
class HalfSilentSource extends PacedSource {
  readonly description = 'half silent';
  count = 0;
  private readonly speech = speechLike(3, 30_000, 0.3);
  private at = 0;
  private readonly random = seededRandom(7);
  constructor(private readonly speechOnly = false) {
    super();
  }
  protected nextFrame(samples: number): Frame {
    const f = new Int16Array(samples);
    const k = this.count++;
    const speech = this.speechOnly || Math.floor(k / HALF) % 2 === 0;
    for (let i = 0; i < samples; i++) {
      const noise = Math.round((this.random() * 2 - 1) * 100);
      f[i] = speech ? this.speech[this.at++ % this.speech.length] + noise : noise;
    }
    return f;
  }
}

/** A codec whose encoders count their calls. */
function countingOpus(): { codec: Codec; encoded: () => number } {
  const base = getCodec('opus');
  let n = 0;
  const codec: Codec = Object.assign(Object.create(Object.getPrototypeOf(base)), base, {
    createEncoder: (o: Parameters<Codec['createEncoder']>[0]) => {
      const e = base.createEncoder(o);
      const encode = e.encode.bind(e);
      e.encode = (f: Frame) => {
        n++;
        return encode(f);
      };
      return e;
    },
  });
  return { codec, encoded: () => n };
}

interface Pair {
  a: MediaSession;
  b: MediaSession;
  sink: RecordingSink;
  encodedByA: () => number;
  stop(): Promise<void>;
}

async function pair(source: AudioSource, opts: { dtx: boolean; cn: boolean }): Promise<Pair> {
  const la = await UdpLink.open({ host: '127.0.0.1' });
  const lb = await UdpLink.open({ host: '127.0.0.1' });
  const common = {
    codec: { name: 'opus' as const, payloadType: 111, clockRate: 48000, frameMs: FRAME_MS as 20 },
    red: { payloadType: RED_PAYLOAD_TYPE },
    cn: opts.cn ? { payloadType: CN_PAYLOAD_TYPE } : (false as const),
    localCandidates: [],
  };
  const agA: Agreement = {
    ...common,
    localSsrc: 1,
    remoteSsrc: 2,
    remoteCandidates: [{ ip: '127.0.0.1', port: lb.port, type: 'host' }],
    controlling: true,
    localIce: SELF_ICE,
    remoteIce: PEER_ICE,
    keys: TEST_KEYS,
  };
  const agB: Agreement = {
    ...common,
    localSsrc: 2,
    remoteSsrc: 1,
    remoteCandidates: [{ ip: '127.0.0.1', port: la.port, type: 'host' }],
    controlling: false,
    localIce: PEER_ICE,
    remoteIce: SELF_ICE,
    keys: { ...TEST_KEYS, send: TEST_KEYS.receive, receive: TEST_KEYS.send },
  };
  const counting = countingOpus();
  const sink = new RecordingSink();
  const a = new MediaSession({ link: la, agreement: agA, codec: counting.codec, source, sink: new RecordingSink(), dtx: opts.dtx });
  const b = new MediaSession({ link: lb, agreement: agB, codec: getCodec('opus'), source: new SilenceSource(), sink });
  await Promise.all([a.start(), b.start()]);
  await waitUntil(() => a.connected && b.connected, 'both sides connected');
  return { a, b, sink, encodedByA: counting.encoded, stop: async () => void (await Promise.all([a.stop(), b.stop()])) };
}

/** Packets A sends over the next `frames` frames of its source (two whole speech/silence cycles). */
async function packetsOver(p: Pair, source: HalfSilentSource, frames: number): Promise<number> {
  // Start at a cycle's beginning, so both calls measure the same stretch of the pattern.
  await waitUntil(() => source.count % (2 * HALF) === 0 || source.count % (2 * HALF) === 1, 'a cycle to begin', 15_000, 1);
  const from = source.count;
  const sent = p.a.stats().packetsSent;
  await waitUntil(() => source.count >= from + frames, 'the frames to be captured', 30_000);
  return p.a.stats().packetsSent - sent;
}

/** The longest run of zero samples in the frames B played after its first sound, leaving out frames near a loop stall. */
function longestZeroRun(sink: RecordingSink, stalls: LoopStalls, settleMs = 300): number {
  let longest = 0;
  let run = 0;
  const first = sink.frames.findIndex((f) => f.some((x) => x !== 0));
  for (let i = Math.max(0, first); i < sink.frames.length; i++) {
    const t = sink.times[i];
    if (stalls.spans.some((s) => s.from - 40 <= t && s.to + settleMs >= t)) {
      run = 0;
      continue;
    }
    for (const x of sink.frames[i]) {
      run = x === 0 ? run + 1 : 0;
      if (run > longest) longest = run;
    }
  }
  return longest;
}

test('half silence with DTX on sends at most 60 % of the packets of the same call without silence; the gaps play comfort noise, never digital silence, and count no loss', async () => {
  const stalls = new LoopStalls();
  const speechSource = new HalfSilentSource(true);
  const full = await pair(speechSource, { dtx: true, cn: true });
  const fullCount = await packetsOver(full, speechSource, 4 * HALF);
  await full.stop();

  const source = new HalfSilentSource();
  const p = await pair(source, { dtx: true, cn: true });
  const count = await packetsOver(p, source, 4 * HALF);
  const a = p.a.stats();
  const b = p.b.stats();
  await p.stop();
  stalls.stop();
  const ratio = count / fullCount;
  process.stdout.write(`dtx: ${count} packets vs ${fullCount} without silence (${(100 * ratio).toFixed(1)} %); a: ${JSON.stringify({ suppressed: a.framesSuppressed, cn: a.cnPacketsSent })} b: ${JSON.stringify({ cn: b.cnPacketsReceived, comfortMs: b.comfortNoiseMs, lost: b.packetsLost, concealedMs: b.concealedMs })}\n`);
  expect(fullCount).toBeGreaterThanOrEqual(4 * HALF - 5);
  expect(ratio).toBeLessThanOrEqual(0.6);
  expect(a.framesSuppressed).toBeGreaterThan(HALF);
  expect(a.cnPacketsSent).toBeGreaterThan(2);
  expect(b.cnPacketsReceived).toBe(a.cnPacketsSent);
  expect(b.comfortNoiseMs).toBeGreaterThan(2 * HALF * FRAME_MS * 0.5);
  expect(b.packetsLost).toBe(0);
  // Concealment only for what a stall of this process could have held up.
  expect(b.concealedMs).toBeLessThanOrEqual(stalls.frames(FRAME_MS) * FRAME_MS);
  // Never digital silence after the first sound: no zero run beyond 5 ms.
  expect(longestZeroRun(p.sink, stalls)).toBeLessThanOrEqual(240);
});

test('DTX off sends every frame, as before', async () => {
  const source = new HalfSilentSource();
  const p = await pair(source, { dtx: false, cn: true });
  const count = await packetsOver(p, source, 2 * HALF);
  const a = p.a.stats();
  await p.stop();
  expect(Math.abs(count - 2 * HALF)).toBeLessThanOrEqual(3);
  expect(a.framesSuppressed).toBe(0);
  expect(a.cnPacketsSent).toBe(0);
});

test('DTX on without comfort noise agreed sends every frame', async () => {
  const source = new HalfSilentSource();
  const p = await pair(source, { dtx: true, cn: false });
  const count = await packetsOver(p, source, 2 * HALF);
  await p.stop();
  expect(Math.abs(count - 2 * HALF)).toBeLessThanOrEqual(3);
});

test.each([true, false])('muted (comfort noise agreed: %s) encodes nothing; the peer counts no loss', async (cn) => {
  const source = new HalfSilentSource(true);
  const p = await pair(source, { dtx: false, cn });
  await waitUntil(() => p.b.stats().packetsReceived > 20, 'audio to flow');
  p.a.muted = true;
  const encoded = p.encodedByA();
  const sent = p.a.stats().packetsSent;
  const from = source.count;
  await waitUntil(() => source.count >= from + 150, '3 s of muted frames');
  const a = p.a.stats();
  const b = p.b.stats();
  expect(p.encodedByA()).toBe(encoded);
  expect(p.a.activity().sending).toBe(false);
  if (cn) {
    // One "silence" on muting, then one a second.
    expect(a.packetsSent - sent).toBeGreaterThanOrEqual(2);
    expect(a.packetsSent - sent).toBeLessThanOrEqual(5);
    expect(a.cnPacketsSent).toBe(a.packetsSent - sent);
    expect(p.b.activity().receiving).toBe(false);
  } else expect(a.packetsSent).toBe(sent);
  expect(b.packetsLost).toBe(0);
  // Unmuting: speech again, with the marker bit, and no loss counted for the gap.
  p.a.muted = false;
  await waitUntil(() => p.b.stats().packetsReceived > b.packetsReceived + 20, 'audio again');
  await waitUntil(() => p.b.activity().receiving, 'the peer to be heard speaking');
  expect(p.b.stats().packetsLost).toBe(0);
  await p.stop();
});
