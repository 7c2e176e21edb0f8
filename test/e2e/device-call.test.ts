import { startServer, type RunningServer } from '../../src/server';
import { Phone, type ActiveCall } from '../../src/client/phone';
import { createSink, createSource, signals } from '../../src/audio';
import { alsaFileDevice, brokenAlsaConfig, dominantFrequency, rms, type AlsaFileDevice } from '../helpers/audio';
import { waitUntil } from '../helpers/wait';

/**
 * The real device path: arecord as each side's microphone and the speaker addon as its
 * speaker, both on ALSA's file plugin, so what each "hears" lands in a file.
 */
let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error' });
});
afterAll(() => server.close());

const connect = () => Phone.connect({ server: { host: '127.0.0.1', port: server.port }, udpHost: '127.0.0.1' });
/**
 * One ALSA configuration for the microphone and another for the speaker: the file plugin
 * also copies captured audio into its output file, which would mix the two.
 */
function sideDevices(tone: Int16Array) {
  const mic = alsaFileDevice(tone);
  const speaker = alsaFileDevice(new Int16Array(0));
  return {
    mic,
    speaker,
    devices: { input: createSource('mic:arecord', { env: mic.env }), output: createSink('speaker:addon', { env: speaker.env }) },
    cleanup: () => [mic, speaker].forEach((d: AlsaFileDevice) => d.cleanup()),
  };
}

test('microphone and speaker carry a call both ways', async () => {
  const aliceSide = sideDevices(signals.tone(700, 8000, 0.4));
  const bobSide = sideDevices(signals.tone(1100, 8000, 0.4));
  const alice = await connect();
  const bob = await connect();
  try {
    await alice.register('alice');
    await bob.register('bob');
    const bobCall = new Promise<ActiveCall>((r) => bob.once('incoming', (c) => void c.accept(bobSide.devices).then(r)));
    const call = await alice.call('bob', aliceSide.devices).result;
    await bobCall;
    // Until each speaker has played 3.2 s (its file holds what ALSA was given).
    await waitUntil(() => aliceSide.speaker.output().length > 3.2 * 48000 && bobSide.speaker.output().length > 3.2 * 48000, 'both speakers to play 3.2 s', 30_000, 100);
    const ended = new Promise((r) => call.once('ended', r));
    await call.hangup();
    await ended;
    for (const [side, freq] of [[aliceSide, 1100], [bobSide, 700]] as const) {
      const heard = side.speaker.output();
      // Skip the start-up second; at least two seconds of the other side's tone must be there.
      const body = heard.subarray(48000);
      expect(body.length).toBeGreaterThan(2 * 48000);
      expect(Math.abs(dominantFrequency(body, 48000, 100, 4000, 5) - freq)).toBeLessThanOrEqual(10);
      expect(rms(body)).toBeGreaterThan(3000);
    }
  } finally {
    await alice.close();
    await bob.close();
    aliceSide.cleanup();
    bobSide.cleanup();
  }
});

test('a speaker that will not open fails the call with a readable reason, and nothing crashes', async () => {
  const broken = brokenAlsaConfig();
  const alice = await connect();
  const bob = await connect();
  try {
    await alice.register('alice');
    await bob.register('bob');
    let rang = false;
    bob.once('incoming', (c) => {
      rang = true;
      void c.accept().catch(() => undefined);
    });
    const out = alice.call('bob', { input: 'tone', output: createSink('speaker:addon', { env: broken.env }) });
    const err = await out.result.catch((e: Error) => e);
    expect(err).toMatchObject({ reason: 'failed', end: { cause: 'output_device', byMe: true } });
    expect((err as Error).message).toMatch(/^Could not call bob: your speaker \(audio output\) failed: the speaker .* would not open: .+$/);
    // The speaker is opened before the call is placed: bob never rang.
    expect(rang).toBe(false);
    // The phone is still usable afterwards.
    expect(await alice.lookup('bob')).toMatchObject({ name: 'bob' });
  } finally {
    await alice.close();
    await bob.close();
    broken.cleanup();
  }
});
