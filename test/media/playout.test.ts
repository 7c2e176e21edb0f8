import { seededRandom } from '../../src/audio/signals';
import { blockCorrelations, F, largestStep, minCorrelation, simulate, steady } from './playout-sim';

const SECOND = 50;
const calmNoise = (seed: number) => {
  const rnd = seededRandom(seed);
  // Timer and scheduling noise of a calm machine: under a millisecond either way.
  return steady(800).map((a) => ({ ...a, at: a.at + rnd() }));
};

/** Counters after tick `k` equal those at the end: nothing happened in between. */
function unchangedAfter(history: { inserted: number; removed: number; concealed: number }[], k: number): void {
  expect(history.at(-1)).toEqual(history[k]);
}

test('a calm link: after the first second nothing is inserted, removed or concealed, and the output is the input delayed', () => {
  const r = simulate(calmNoise(1), 780);
  unchangedAfter(r.history, SECOND);
  expect(r.stats).toMatchObject({ concealedMs: 0, late: 0 });
  expect(minCorrelation(blockCorrelations(r, SECOND * 960))).toBeGreaterThan(0.999);
});

test('a late burst is waited for by stretching: inserted audio, nothing concealed, speech continuous', () => {
  // Frames 100..104 held and released together with frame 105: a 100 ms stall.
  const arrivals = steady(800).map((a) => (a.index >= 100 && a.index < 105 ? { ...a, at: 105 * F + 5 } : a));
  const r = simulate(arrivals, 790);
  expect(r.stats.insertedMs).toBeGreaterThanOrEqual(90);
  expect(r.stats.concealedMs).toBe(0);
  expect(r.concealments).toBe(0);
  // Then the delay is taken back by compression, a period at a time.
  expect(r.stats.removedMs).toBeGreaterThan(60);
  // Outside the stall itself (where what is played is made up from what came before) the output
  // is the input, displaced by what the counters say; no step anywhere.
  const stall = { from: 100 * 960, to: 112 * 960 };
  const outside = blockCorrelations(r, SECOND * 960).filter((b) => b.at < stall.from || b.at >= stall.to);
  expect(minCorrelation(outside)).toBeGreaterThan(0.9);
  expect(largestStep(r.out, SECOND * 960)).toBeLessThanOrEqual(largestStep(r.signal) * 1.2);
});

test('one frame 15 ms late: waited for by repeating pitch periods, which still match the input', () => {
  const arrivals = steady(400).map((a) => (a.index === 60 ? { ...a, at: a.at + 15 } : a));
  const r = simulate(arrivals, 390);
  expect(r.stats.insertedMs).toBeGreaterThan(0);
  expect(r.stats.concealedMs).toBe(0);
  // Whole periods of a voice repeated: every block matches the input, the wait included.
  expect(minCorrelation(blockCorrelations(r, SECOND * 960))).toBeGreaterThan(0.9);
  expect(largestStep(r.out, SECOND * 960)).toBeLessThanOrEqual(largestStep(r.signal) * 1.2);
});

test('a lost frame is concealed (and only that is counted concealed)', () => {
  const r = simulate(
    steady(300).filter((a) => a.index !== 120),
    290,
  );
  expect(r.concealments).toBe(1);
  expect(r.stats.concealedMs).toBe(F);
  expect(r.stats.concealed).toBe(1);
});

test('a drop in network delay is taken out by compression, not by skipping a frame', () => {
  // 45 ms of extra delay until frame 100, then none: 45 ms too much buffered.
  const arrivals = steady(600).map((a) => (a.index < 100 ? { ...a, at: a.at + 45 } : a));
  const r = simulate(arrivals, 590);
  expect(r.stats.removedMs).toBeGreaterThan(F);
  expect(r.stats.insertedMs + r.stats.concealedMs).toBe(0);
  expect(r.decoded.map((d) => d.index)).toEqual(r.decoded.map((_, i) => i));
  expect(minCorrelation(blockCorrelations(r, SECOND * 960))).toBeGreaterThan(0.9);
  expect(largestStep(r.out, SECOND * 960)).toBeLessThanOrEqual(largestStep(r.signal) * 1.2);
  expect(r.delays.at(-1)).toBeLessThan(5);
});

test('the checks see a whole frame inserted or dropped in speech', () => {
  const r = simulate(calmNoise(2), 300);
  const { out } = r;
  // Find a voiced frame, then splice: 20 ms of its own audio again, or 20 ms gone.
  const at = (Array.from({ length: 200 }, (_, k) => 80 + k).find((k) => largestStep(out.subarray(k * 960, (k + 2) * 960)) > 300) ?? 100) * 960 + 300;
  const inserted = new Int16Array(out.length + 960);
  inserted.set(out.subarray(0, at));
  inserted.set(out.subarray(at - 960, at), at);
  inserted.set(out.subarray(at), at + 960);
  const dropped = new Int16Array(out.length - 960);
  dropped.set(out.subarray(0, at));
  dropped.set(out.subarray(at + 960), at);
  for (const spliced of [inserted, dropped]) {
    const blocks = blockCorrelations({ ...r, out: spliced }, SECOND * 960);
    expect(minCorrelation(blocks) < 0.9 || largestStep(spliced) > largestStep(r.signal) * 1.2).toBe(true);
  }
});

test.each([
  [700, 1000],
  [1200, 2000],
])('a link that stalls %i ms of every %i: the delay stays within the maximum, the excess is dropped or compressed', (stallMs, everyMs) => {
  // Everything sent during a stall arrives together at its end, again and again.
  const arrivals = steady(1500).map((a) => {
    const phase = a.at % everyMs;
    return phase < stallMs ? { ...a, at: a.at - phase + stallMs + 1 } : a;
  });
  const r = simulate(arrivals, 1450, { jitter: { maxDelayMs: 400 } });
  const settled = r.delays.slice(500);
  expect(Math.max(...settled)).toBeLessThanOrEqual(400 + F);
  // What could not wait was given up or taken out, not kept as delay.
  expect(r.stats.concealed + r.stats.skipped).toBeGreaterThan(0);
});
