import { startServer, type RunningServer } from '../../src/server';
import { Phone, type ActiveCall } from '../../src/client/phone';
import { ToneSource } from '../../src/audio';
import { ImpairmentProxy } from './impairment-proxy';
import { dominantFrequency, rms } from '../helpers/audio';
import { waitUntil } from '../helpers/wait';
import { LoopStalls, RecordingSink } from './media-helpers';

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error' });
});
afterAll(() => server.close());

/** Played frames checked: 6 s at 20 ms, after the first second. */
const FRAMES = 300;
const SKIP = 50;

test('through 5% loss and 0–30 ms jitter with reordering, the call carries on and reports the loss', async () => {
  const proxy = await ImpairmentProxy.start({ loss: 0.05, jitterMs: 30, seed: 1234 });
  const connect = (side: 'a' | 'b') =>
    Phone.connect({
      server: { host: '127.0.0.1', port: server.port },
      udpHost: '127.0.0.1',
      codecs: ['opus'],
      candidates: proxy.advertise(side),
      // Every packet goes through the impairing proxy: a relay would carry the call around it.
      relay: 'off',
    });
  const alice = await connect('a');
  const bob = await connect('b');
  try {
    await alice.register('alice');
    await bob.register('bob');
    const heardByAlice = new RecordingSink();
    const heardByBob = new RecordingSink();
    const bobCall = new Promise<ActiveCall>((r) => bob.once('incoming', (c) => void c.accept({ input: new ToneSource(1100), output: heardByBob }).then(r)));
    const call = await alice.call('bob', { input: new ToneSource(700), output: heardByAlice }).result;
    await bobCall;
    const stalls = new LoopStalls();
    await waitUntil(() => heardByAlice.frames.length >= SKIP + FRAMES && heardByBob.frames.length >= SKIP + FRAMES, 'both sides to have played 7 s');
    stalls.stop();
    const stats = call.stats();
    const ended = new Promise((r) => call.once('ended', r));
    await call.hangup();
    await ended;
    // What this machine's scheduling may have cost, in frames; none on a calm machine.
    const disturbed = stalls.frames(20);

    // Statistics: the injected loss, within a couple of packets still in flight at the end.
    const injected = proxy.dropped('a');
    expect(Math.abs(stats.packetsLost - injected.dropped)).toBeLessThanOrEqual(3);
    expect(stats.lossPercent).toBeGreaterThan(2);
    expect(stats.lossPercent).toBeLessThan(9);
    expect(stats.jitterMs).toBeGreaterThan(3);
    // Losses are repaired from the redundant copies, and hardly anything is concealed.
    expect(stats.framesRecovered).toBeGreaterThan(injected.dropped * 0.6 - disturbed);
    expect(stats.concealedMs / 20).toBeLessThanOrEqual(Math.max(2, stats.framesPlayed * 0.02) + disturbed);

    // The output is continuous: after the first second no frame falls silent, but for those a
    // stall of this machine may have starved.
    for (const sink of [heardByAlice, heardByBob]) {
      const quiet = sink.frames.slice(SKIP).filter((f) => rms(f) <= 1000);
      expect(quiet.length).toBeLessThanOrEqual(disturbed);
    }
    expect(Math.abs(dominantFrequency(heardByAlice.samples(SKIP), 48000, 100, 4000, 5) - 1100)).toBeLessThanOrEqual(10);
    expect(Math.abs(dominantFrequency(heardByBob.samples(SKIP), 48000, 100, 4000, 5) - 700)).toBeLessThanOrEqual(10);
  } finally {
    await alice.close();
    await bob.close();
    proxy.close();
  }
});
