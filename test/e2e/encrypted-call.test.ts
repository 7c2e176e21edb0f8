/**
 * Media is encrypted end to end: what crosses the network between two parley clients carries
 * no audio, and what an on-path attacker replays, alters or forges from the peer's address is
 * dropped and counted before it can reach the speaker.
 */
import { randomBytes } from 'node:crypto';
import { startServer, type RunningServer } from '../../src/server';
import { Phone, type ActiveCall } from '../../src/client/phone';
import { getCodec, ToneSource } from '../../src/audio';
import { dominantFrequency, rms, toneShare } from '../helpers/audio';
import { waitUntil } from '../helpers/wait';
import { RecordingSink, TappedTone } from './media-helpers';
import { TamperProxy, type Tamper } from './tamper-proxy';

let server: RunningServer;
let proxy: TamperProxy;
const phones: Phone[] = [];

beforeAll(async () => {
  server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error' });
});
afterAll(async () => {
  await server.close();
});
beforeEach(async () => {
  proxy = await TamperProxy.start();
});
afterEach(async () => {
  await Promise.all(phones.splice(0).map((p) => p.close()));
  proxy.close();
});


async function phone(name: string, side: 'a' | 'b'): Promise<Phone> {
  const p = await Phone.connect({ server: { host: '127.0.0.1', port: server.port }, udpHost: '127.0.0.1', codecs: ['pcm'], stun: false, relay: 'off', candidates: proxy.advertise(side) });
  phones.push(p);
  await p.register(name);
  return p;
}

/** Alice (A) calls Bob (B) through the proxy: alice sends a 700 Hz tone; bob records it. */
async function call(frames: number) {
  const alice = await phone('alice', 'a');
  const bob = await phone('bob', 'b');
  const heardByBob = new RecordingSink();
  const tone = new TappedTone(700);
  const bobCall = new Promise<ActiveCall>((r) => bob.once('incoming', (c) => void c.accept({ input: new ToneSource(1100), output: heardByBob }).then(r)));
  const aliceCall = await alice.call('bob', { input: tone, output: 'null' }).result;
  const bobActive = await bobCall;
  await waitUntil(() => heardByBob.frames.length >= frames, `bob to have played ${frames} frames`, 20_000);
  const stats = bobActive.stats();
  await aliceCall.hangup();
  return { aliceCall, bobActive, heardByBob, tone, stats };
}

/** The last `ms` of what bob played, skipping the start-up. */
function heard(sink: RecordingSink): Int16Array {
  return sink.samples(25);
}

test('a pcm call carries no audio on the wire: the L16 samples sent are nowhere in the datagrams', async () => {
  const { heardByBob, tone, aliceCall } = await call(100);
  expect(aliceCall.codec.name).toBe('pcm');
  // Bob heard alice's tone: the audio was there to find.
  const x = heard(heardByBob);
  expect(Math.abs(dominantFrequency(x, 48000, 100, 4000, 5) - 700)).toBeLessThanOrEqual(10);
  const toBob = proxy.captured.toB;
  expect(toBob.length).toBeGreaterThan(50);
  // What the codec made of each frame the tone produced, 16-byte pieces of it: none is on the wire.
  const encoder = getCodec('pcm').createEncoder({ frameMs: 20 });
  const pieces = tone.made.slice(1).flatMap((f) => {
    const payload = encoder.encode(f);
    return [0, 160, 320, 480].map((at) => payload.subarray(at, at + 16));
  });
  const wire = Buffer.concat(toBob);
  const found = pieces.filter((p) => p.some((b) => b !== 0) && wire.includes(p));
  expect(found).toEqual([]);
  // Read as L16, the payloads are noise, not a 700 Hz tone (plain L16 would be almost all tone).
  const asL16 = Buffer.concat(toBob.map((d) => d.subarray(12)));
  const samples = new Int16Array(Math.floor(asL16.length / 2)).map((_, i) => asL16.readInt16BE(2 * i));
  expect(toneShare(samples, 700, 16000)).toBeLessThan(0.01);
});

test('a replayed packet and a modified one are dropped and counted; the call goes on', async () => {
  const replays = new Set([40, 41, 60]);
  const modified = new Set([50, 70]);
  const tamper: Tamper = (msg, n) => {
    if (replays.has(n)) return [msg, msg];
    if (modified.has(n)) {
      const bad = Buffer.from(msg);
      bad[20] ^= 0x40;
      // The altered copy first, then the genuine one: only the altered one may be refused.
      return [bad, msg];
    }
    return [msg];
  };
  proxy.tamper.toB = tamper;
  const { stats, heardByBob } = await call(120);
  expect(stats.replayed).toBe(3);
  expect(stats.decryptFailed).toBe(2);
  expect(stats.packetsLost).toBe(0);
  const x = heard(heardByBob);
  expect(Math.abs(dominantFrequency(x, 48000, 100, 4000, 5) - 700)).toBeLessThanOrEqual(10);
});

test("spoofed packets from the peer's address, with forward sequence numbers, never reach the speaker", async () => {
  // For every genuine packet, three forgeries from the same address and SSRC with the next
  // sequence numbers and timestamps: a loud 3 kHz tone in L16, with a made-up tag.
  const forgedTone = Buffer.alloc(640);
  for (let i = 0; i < 320; i++) forgedTone.writeInt16BE(Math.round(30000 * Math.sin((2 * Math.PI * 3000 * i) / 16000)), 2 * i);
  let forged = 0;
  proxy.tamper.toB = (msg, n) => {
    if (n < 5) return [msg];
    const out = [msg];
    for (let k = 1; k <= 3; k++) {
      const f = Buffer.concat([msg.subarray(0, 12), forgedTone, randomBytes(16)]);
      f.writeUInt16BE((msg.readUInt16BE(2) + k) & 0xffff, 2);
      f.writeUInt32BE((msg.readUInt32BE(4) + 320 * k) >>> 0, 4);
      out.unshift(f);
      forged++;
    }
    return out;
  };
  const { stats, heardByBob } = await call(120);
  expect(forged).toBeGreaterThan(100);
  // Each genuine packet's three forgeries went ahead of it: every one was refused.
  expect(stats.decryptFailed).toBeGreaterThanOrEqual(3 * (stats.packetsReceived - 5));
  expect(stats.packetsReceived).toBeGreaterThan(100);
  expect(stats.replayed).toBe(0);
  const x = heard(heardByBob);
  expect(Math.abs(dominantFrequency(x, 48000, 100, 4000, 5) - 700)).toBeLessThanOrEqual(10);
  expect(toneShare(x, 3000)).toBeLessThan(0.001);
  expect(rms(x)).toBeGreaterThan(3000);
});
