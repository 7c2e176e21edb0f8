/**
 * The PulseAudio speaker's queue level, on a private daemon's null sink: written a 20 ms frame
 * per tick, it keeps about its margin queued (so a call's playback adds little delay); a write
 * that comes far too late runs it dry, which is counted and raises the margin, and playback
 * goes on; a margin out of order is refused.
 */
import { spawnSync } from 'node:child_process';
import { AudioError, PulseSink, signals } from '../../src/audio';
import { pulseBinding } from '../../src/audio/pulse-binding';
import { PulseDaemon, missingPieces } from '../../bench/device/pulse';
import { waitUntil } from '../helpers/wait';

const binding = pulseBinding('output_device');
const there = !(binding instanceof AudioError) && missingPieces().length === 0 && spawnSync('pulseaudio', ['--version']).status === 0;
const maybe = there ? describe : describe.skip;

/** Writes a 20 ms frame per tick of a 20 ms timer, except while `paused()`. */
function feed(sink: PulseSink, paused: () => boolean = () => false): NodeJS.Timeout {
  const frame = signals.tone(440, 20);
  return setInterval(() => {
    if (!paused()) sink.write(frame);
  }, 20);
}

maybe('the PulseAudio speaker keeps a small, adaptive margin queued', () => {
  let pulse: PulseDaemon;
  beforeAll(async () => {
    pulse = await PulseDaemon.start(['load-module module-null-sink sink_name=spk rate=48000 channels=1 format=s16le norewinds=1']);
  });
  afterAll(async () => {
    await pulse.stop();
  });

  it('a steady writer: little queued, and running dry counts, raises the margin, and playback goes on', async () => {
    const sink = new PulseSink({ env: pulse.env, device: 'spk', marginMs: 10, marginFloorMs: 6, marginCeilingMs: 60 });
    await sink.open();
    let pause = false;
    const timer = feed(sink, () => pause);
    try {
      await waitUntil(() => sink.latencyMs() !== undefined, 'a measured latency');
      await new Promise((r) => setTimeout(r, 1500));
      const before = sink.stats;
      // Just after a write the delay is the margin, the frame and the sink's own few ms (a fixed
      // 40 ms server buffer, as before, stays at 40 here).
      const lowest = await lowestLatency(sink, 1000);
      expect(lowest).toBeLessThan(sink.stats.marginMs + 25);

      // A writer 200 ms late: the queue runs dry.
      pause = true;
      await new Promise((r) => setTimeout(r, 200));
      pause = false;
      await waitUntil(() => sink.stats.underruns > before.underruns, 'the run-dry counted');
      expect(sink.stats.marginMs).toBeGreaterThan(before.marginMs);
      // Playback goes on: the server keeps taking audio.
      const latency = await lowestLatency(sink, 500);
      expect(latency).toBeGreaterThan(0);
      expect(sink.isOpen).toBe(true);
    } finally {
      clearInterval(timer);
      await sink.close();
    }
  }, 20_000);

  it('a margin outside its bounds is refused at open', async () => {
    const err = await new PulseSink({ env: pulse.env, device: 'spk', marginMs: 5, marginFloorMs: 10 }).open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AudioError);
    expect((err as AudioError).message).toMatch(/marginFloorMs <= marginMs <= marginCeilingMs/);
  });
});

/** The lowest latency the sink reports over `ms`, sampled every 5 ms. */
async function lowestLatency(sink: PulseSink, ms: number): Promise<number> {
  let lowest = Infinity;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const l = sink.latencyMs();
    if (l !== undefined) lowest = Math.min(lowest, l);
    await new Promise((r) => setTimeout(r, 5));
  }
  return lowest;
}
