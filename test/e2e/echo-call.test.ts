/**
 * Echo cancellation through real sound devices: a private PulseAudio daemon (test/helpers/pulse-rig.ts)
 * where what Bob's speaker plays comes back into Bob's microphone, as it does from a laptop's
 * speakers: the monitor of his "ear" sink is looped (module-loopback, its own buffering and
 * delay) into his "mouth" sink, whose monitor is his microphone, 18 dB down. Alice talks
 * throughout; Bob joins in for a while (double talk), then talks alone. What Alice hears of her
 * own voice coming back is the echo left; it is compared with the echo in Bob's microphone.
 */
import { spawnSync } from 'node:child_process';
import { startServer, type RunningServer } from '../../src/server';
import { Phone, type ActiveCall, type VoiceSettings } from '../../src/client/phone';
import { createSink, createSource, signals } from '../../src/audio';
import { Capture } from '../helpers/pulse';
import { PulseRig, missingPieces } from '../helpers/pulse-rig';
import { waitUntil } from '../helpers/wait';
import { apmAvailable } from '../../src/audio/processing/apm-engine';

const RATE = 48000;
const pulseInstalled = missingPieces().length === 0 && spawnSync('pulseaudio', ['--version']).status === 0;
const engine = apmAvailable();
const why = !pulseInstalled ? 'PulseAudio is not installed' : engine !== true ? `no echo canceller: ${engine}` : null;
// eslint-disable-next-line no-console
if (why) console.warn(`echo-call tests skipped: ${why}`);
const maybe = why ? test.skip : test;

/** Far speech 0–14 s; Bob's near speech 9–12 s (double talk) and 15–17 s (alone). */
const FAR_MS = 14_000;
const NEAR = [
  [9_000, 12_000],
  [15_000, 17_000],
] as const;
const TOTAL_MS = 18_000;

function withGap(signal: Int16Array, spans: readonly (readonly [number, number])[], totalMs: number): Int16Array {
  const out = new Int16Array((totalMs * RATE) / 1000);
  for (const [from, to] of spans) out.set(signal.subarray((from * RATE) / 1000, (to * RATE) / 1000), (from * RATE) / 1000);
  return out;
}

/** Median level (dB) of the 100 ms windows between `fromMs` and `toMs` of `x`. */
function medianDb(x: Int16Array, fromMs: number, toMs: number): number {
  const levels: number[] = [];
  for (let t = fromMs; t + 100 <= toMs; t += 100) {
    const a = (t * RATE) / 1000;
    let sum = 0;
    for (let i = a; i < a + RATE / 10 && i < x.length; i++) sum += x[i] * x[i];
    levels.push(10 * Math.log10(sum / (RATE / 10) + 1e-3));
  }
  levels.sort((p, q) => p - q);
  return levels[Math.floor(levels.length / 2)];
}

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error' });
});
afterAll(async () => {
  await server.close();
});

async function echoCall(voice: Partial<VoiceSettings>): Promise<{ micEcho: number; heardEcho: number; nearAlone: number; nearDouble: number; micNear: number }> {
  const rig = await PulseRig.start(['alice', 'bob']);
  // Bob's speaker comes back into his microphone through the room's own path.
  rig.daemon.pactl('load-module', 'module-loopback', 'source=bob_ear.monitor', 'sink=bob_mouth', 'latency_msec=30', 'source_dont_move=true', 'sink_dont_move=true');
  rig.daemon.pactl('set-source-volume', 'bob_ear.monitor', '50%');
  const common = { server: { host: '127.0.0.1', port: server.port }, udpHost: '127.0.0.1', codecs: ['pcm' as const] };
  const alice = await Phone.connect({ ...common, voice: { aec: false, ns: false, agc: false, dtx: false } });
  const bob = await Phone.connect({ ...common, voice: { ns: false, agc: false, dtx: false, ...voice } });
  const sides = { alice: rig.side('alice'), bob: rig.side('bob') };
  const bobMic = new Capture(rig.daemon, 'bob_mouth.monitor');
  const devices = (env: NodeJS.ProcessEnv) => ({ input: createSource('mic', { env }), output: createSink('speaker', { env }) });
  try {
    await alice.register('alice');
    await bob.register('bob');
    const bobCall = new Promise<ActiveCall>((r) => bob.once('incoming', (c) => void c.accept(devices(sides.bob.env)).then(r)));
    const call = await alice.call('bob', devices(sides.alice.env)).result;
    await bobCall;
    await waitUntil(() => call.stats().packetsReceived > 50, 'audio both ways', 15_000, 20);
    // Everything is timed from here: both signals start together, and both recordings are cut at this mark.
    const heardFrom = sides.alice.heard().length;
    const micFrom = bobMic.length;
    sides.alice.say(withGap(signals.speechLike(11, FAR_MS, 0.3), [[0, FAR_MS]], TOTAL_MS));
    sides.bob.say(withGap(signals.speechLike(23, TOTAL_MS, 0.3), NEAR, TOTAL_MS));
    await new Promise((r) => setTimeout(r, TOTAL_MS + 500));
    const heard = sides.alice.heard().subarray(heardFrom);
    const mic = bobMic.samples().subarray(micFrom);
    await call.hangup();
    return {
      // Far alone, after 3 s to converge, with half a second's margin for the path's delay.
      micEcho: medianDb(mic, 3_000, 8_500),
      heardEcho: medianDb(heard, 3_000, 8_500),
      micNear: medianDb(mic, 15_500, 16_800),
      nearAlone: medianDb(heard, 15_500, 16_800),
      nearDouble: medianDb(heard, 9_500, 11_800),
    };
  } finally {
    bobMic.stop();
    await alice.close();
    await bob.close();
    await rig.stop();
  }
}

maybe('echo cancellation takes what the speaker plays out of the microphone, and keeps the near talker', async () => {
  const on = await echoCall({ aec: true });
  const off = await echoCall({ aec: false });
  // eslint-disable-next-line no-console
  console.log(`device loop: echo in the mic ${on.micEcho.toFixed(1)} dB, heard with aec ${on.heardEcho.toFixed(1)} dB, without ${off.heardEcho.toFixed(1)} dB; near alone ${on.nearAlone.toFixed(1)} dB, in double talk ${on.nearDouble.toFixed(1)} dB (mic ${on.micNear.toFixed(1)} dB)`);
  // Without cancellation the far side hears its own voice at about the level of the echo.
  expect(off.micEcho - off.heardEcho).toBeLessThan(6);
  expect(on.micEcho - on.heardEcho).toBeGreaterThanOrEqual(25);
  // The near talker comes through, alone and while the far side talks.
  expect(Math.abs(on.nearAlone - on.micNear)).toBeLessThanOrEqual(3);
  expect(on.nearAlone - on.nearDouble).toBeLessThanOrEqual(3);
}, 120_000);
