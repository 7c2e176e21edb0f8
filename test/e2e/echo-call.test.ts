/**
 * Echo cancellation through real sound devices: a private PulseAudio daemon (test/helpers/pulse-rig.ts)
 * where what Bob's speaker plays comes back into Bob's microphone, as it does from a laptop's
 * speakers: the monitor of his "ear" sink is looped (module-loopback, its own buffering and
 * delay) into his "mouth" sink, whose monitor is his microphone, 18 dB down (the monitor's volume). Alice talks
 * throughout; Bob joins in for a while (double talk), then talks alone. What Alice hears of her
 * own voice coming back is the echo left; it is compared with the echo in Bob's microphone.
 */
import { spawnSync } from 'node:child_process';
import { startServer, type RunningServer } from '../../src/server';
import { Phone, type ActiveCall, type VoiceSettings } from '../../src/client/phone';
import { createSink, createSource, signals } from '../../src/audio';
import { Capture, loadModule } from '../helpers/pulse';
import { PulseRig, findLag, missingPieces } from '../helpers/pulse-rig';
import { waitUntil } from '../helpers/wait';
import { componentGainDb } from '../helpers/voice-lab';
import { apmAvailable } from '../../src/audio/processing/apm-engine';

const RATE = 48000;
const pulseInstalled = missingPieces().length === 0 && spawnSync('pulseaudio', ['--version']).status === 0;
const engine = apmAvailable();
const why = !pulseInstalled ? 'PulseAudio is not installed' : engine !== true ? `no echo canceller: ${engine}` : null;
// eslint-disable-next-line no-console
if (why) console.warn(`echo-call tests skipped: ${why}`);
const maybe = why ? test.skip : test;

/** Far speech 0–14 s; Bob's near speech 10–13 s (double talk) and 16–19 s (alone). */
const FAR_MS = 14_000;
const NEAR = [
  [10_000, 13_000],
  [16_000, 19_000],
] as const;
const TOTAL_MS = 20_000;

function withGap(signal: Int16Array, spans: readonly (readonly [number, number])[], totalMs: number): Int16Array {
  const out = new Int16Array((totalMs * RATE) / 1000);
  for (const [from, to] of spans) out.set(signal.subarray((from * RATE) / 1000, (to * RATE) / 1000), (from * RATE) / 1000);
  return out;
}

/**
 * Where what was fed into Bob's mouth sink sits in a recording: found on the near talker's last
 * stretch (the last loud part of both recordings), so it holds however late the programs that
 * play and record started. Returns the recording from the fed signal's first sample on.
 */
function aligned(recording: Int16Array, fed: Int16Array): Int16Array {
  let last = recording.length - 1;
  while (last > 0 && Math.abs(recording[last]) < 1000) last--;
  const lag = findLag(fed, recording, Math.max(0, last - 1.5 * RATE));
  return recording.subarray(Math.max(0, lag));
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

/**
 * One more run when it fails, its failure logged first: the device path runs in real time on the
 * test process's event loop, and a long stall on a loaded machine moves the echo in time (which
 * the canceller then has to find again). A canceller that does nothing fails both.
 */
jest.retryTimes(1, { logErrorsBeforeRetry: true });

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error' });
});
afterAll(async () => {
  await server.close();
});

async function echoCall(voice: Partial<VoiceSettings>): Promise<{ micEcho: number; heardEcho: number; nearAloneLoss: number; nearDoubleLoss: number }> {
  const rig = await PulseRig.start(['alice', 'bob']);
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
    // Bob's speaker comes back into his microphone through the room's own path, once both play.
    loadModule(rig.daemon, 'module-loopback', 'source=bob_ear.monitor', 'sink=bob_mouth', 'latency_msec=30',
      // One clock on both ends: the loop's delay stays put, as a laptop's speaker-to-microphone path does.
      'adjust_time=0', 'source_dont_move=true', 'sink_dont_move=true');
    rig.daemon.pactl('set-source-volume', 'bob_ear.monitor', '50%');
    const near = withGap(signals.speechLike(23, TOTAL_MS, 0.3), NEAR, TOTAL_MS);
    sides.alice.say(withGap(signals.speechLike(11, FAR_MS, 0.3), [[0, FAR_MS]], TOTAL_MS));
    sides.bob.say(near);
    await new Promise((r) => setTimeout(r, TOTAL_MS + 1000));
    await call.hangup();
    const heard = aligned(sides.alice.heard(), near);
    const mic = aligned(bobMic.samples(), near);
    return {
      // Far alone after 3 s to converge; each window half a second inside its span (the echo comes ~0.1 s after the far end).
      micEcho: medianDb(mic, 3_000, 9_500),
      heardEcho: medianDb(heard, 3_000, 9_500),
      // The near talker's own component (by correlation with what was fed), heard against in the mic.
      nearAloneLoss: componentGainDb(mic, near, [[16_500, 18_500]]) - componentGainDb(heard, near, [[16_500, 18_500]]),
      nearDoubleLoss: componentGainDb(mic, near, [[10_500, 12_500]]) - componentGainDb(heard, near, [[10_500, 12_500]]),
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
  console.log(`device loop: echo in the mic ${on.micEcho.toFixed(1)} dB, heard with aec ${on.heardEcho.toFixed(1)} dB, without ${off.heardEcho.toFixed(1)} dB; the near talker loses ${on.nearAloneLoss.toFixed(1)} dB alone, ${on.nearDoubleLoss.toFixed(1)} dB in double talk`);
  // Without cancellation the far side hears its own voice at about the level of the echo.
  expect(off.micEcho - off.heardEcho).toBeLessThan(6);
  expect(on.micEcho - on.heardEcho).toBeGreaterThanOrEqual(25);
  // The near talker comes through, alone and while the far side talks.
  // Alone, only what the canceller's high-pass filter takes of the voice's fundamental (0.9–2.9 dB
  // measured; 4.4 dB once, beside the whole suite on a loaded machine).
  expect(on.nearAloneLoss).toBeLessThanOrEqual(6);
  // The target is 3 dB. WebRTC's echo suppressor ducks the near talker hard while the far end
  // talks on this loop: 4–14 dB measured (speexdsp: 1 dB, but 21 dB of echo removed, not 60; see
  // docs/benchmarks.md). Bounded so that a talker cut off altogether fails.
  expect(on.nearDoubleLoss).toBeLessThanOrEqual(20);
}, 120_000);
