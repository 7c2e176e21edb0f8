import { startServer, type RunningServer } from '../../src/server';
import { Phone } from '../../src/client/phone';
import { ToneSource } from '../../src/audio';
import { ImpairmentProxy } from './impairment-proxy';
import { dominantFrequency, rms } from '../helpers/audio';
import { RecordingSink, sleep } from './media-helpers';

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error' });
});
afterAll(() => server.close());

test('through 5% loss and 0–30 ms jitter with reordering, the call carries on and reports the loss', async () => {
  const proxy = await ImpairmentProxy.start({ loss: 0.05, jitterMs: 30, seed: 1234 });
  const connect = (side: 'a' | 'b') =>
    Phone.connect({
      server: { host: '127.0.0.1', port: server.port },
      udpHost: '127.0.0.1',
      codecs: ['opus'],
      candidates: proxy.advertise(side),
    });
  const alice = await connect('a');
  const bob = await connect('b');
  try {
    await alice.register('alice');
    await bob.register('bob');
    const heardByAlice = new RecordingSink();
    const heardByBob = new RecordingSink();
    bob.once('incoming', (c) => void c.accept({ input: new ToneSource(1100), output: heardByBob }));
    const call = await alice.call('bob', { input: new ToneSource(700), output: heardByAlice }).result;
    await sleep(6000);
    const stats = call.stats();
    const ended = new Promise((r) => call.once('ended', r));
    await call.hangup();
    await ended;

    // Statistics: the injected loss, within a couple of packets still in flight at the end.
    const injected = proxy.dropped('a');
    expect(Math.abs(stats.packetsLost - injected.dropped)).toBeLessThanOrEqual(3);
    expect(stats.lossPercent).toBeGreaterThan(2);
    expect(stats.lossPercent).toBeLessThan(9);
    expect(stats.jitterMs).toBeGreaterThan(3);
    expect(stats.framesRecovered).toBeGreaterThan(injected.dropped * 0.6);
    expect(stats.framesConcealed).toBeLessThanOrEqual(Math.max(2, stats.framesPlayed * 0.02));

    // The output is continuous: after the first second, no frame falls silent.
    for (const sink of [heardByAlice, heardByBob]) {
      const levels = sink.frames.slice(50).map(rms);
      expect(levels.length).toBeGreaterThan(200);
      expect(Math.min(...levels)).toBeGreaterThan(1000);
    }
    expect(Math.abs(dominantFrequency(heardByAlice.samples(50), 48000, 100, 4000, 5) - 1100)).toBeLessThanOrEqual(10);
    expect(Math.abs(dominantFrequency(heardByBob.samples(50), 48000, 100, 4000, 5) - 700)).toBeLessThanOrEqual(10);
  } finally {
    await alice.close();
    await bob.close();
    proxy.close();
  }
});
