import { seededRandom } from '../../src/audio/signals';
import { F, simulate, steady } from './playout-sim';

/** Decoded frame indices are consecutive: nothing skipped, nothing out of order. */
function expectContinuous(decoded: { index: number }[], from = 0): void {
  decoded.forEach((p, i) => expect(p.index).toBe(from + i));
}

test('in order: every frame plays from its own packet, a safety margin after it arrives', () => {
  const { decoded, stats } = simulate(steady(100), 95);
  expectContinuous(decoded);
  expect(decoded.every((p) => !p.redundant)).toBe(true);
  expect(stats).toMatchObject({ late: 0, duplicate: 0, concealed: 0, insertedMs: 0, removedMs: 0, concealedMs: 0 });
  expect(stats.delayMs).toBeLessThan(F);
});

test('reordered: the first swap costs a frame, then the buffer has grown to hold them', () => {
  const arrivals = steady(300).map((a) => (a.index % 10 === 5 ? { ...a, at: a.at + 25 } : a));
  const { decoded, stats, history } = simulate(arrivals, 290);
  expect(stats.concealed).toBeLessThanOrEqual(1);
  expect(stats.late).toBeLessThanOrEqual(1);
  expectContinuous(
    decoded.filter((p) => p.index > 20),
    21,
  );
  // Nothing concealed or inserted in the last four seconds: the buffer holds the reordering.
  expect(history.at(-1)).toEqual(history.at(-200));
  expect(stats.targetDelayMs).toBeGreaterThanOrEqual(25);
});

test('duplicated: copies are counted and dropped', () => {
  const arrivals = steady(100).flatMap((a) => [a, { ...a, at: a.at + 3 }]);
  const { decoded, stats } = simulate(arrivals, 103);
  expectContinuous(decoded);
  expect(stats.duplicate).toBe(100);
  expect(stats.concealed).toBe(0);
});

test('lost, with redundancy: the frame is played exactly from the next packet, waited for by stretching', () => {
  const arrivals = steady(100, 5, 2).filter((a) => a.index !== 40);
  const { decoded, stats, concealments } = simulate(arrivals, 95);
  expectContinuous(decoded);
  expect(decoded.find((p) => p.index === 40)?.redundant).toBe(true);
  expect(stats.recovered).toBe(1);
  expect(stats.concealed + concealments).toBe(0);
  // Waiting for the copy stretched the audio by about the frame's lateness.
  expect(stats.insertedMs).toBeGreaterThan(0);
  expect(stats.insertedMs).toBeLessThan(2 * F);
});

test('lost, with redundancy, after the buffer has made room: nothing concealed, nothing more inserted', () => {
  const arrivals = steady(200, 5, 2).filter((a) => a.index !== 40 && a.index !== 100 && a.index !== 150);
  const { decoded, stats, history } = simulate(arrivals, 195);
  expectContinuous(decoded);
  expect(stats.recovered).toBe(3);
  expect(stats.concealed).toBe(0);
  expect(history[150].inserted).toBe(history[60].inserted);
});

test('two packets in a row lost: both recovered from a packet carrying two earlier frames', () => {
  const arrivals = steady(100, 5, 2).filter((a) => a.index !== 40 && a.index !== 41);
  const { decoded, stats } = simulate(arrivals, 95);
  expect(decoded.filter((p) => p.redundant).map((p) => p.index)).toEqual([40, 41]);
  expect(stats.recovered).toBe(2);
  expect(stats.concealed).toBe(0);
  expectContinuous(decoded);
});

test('lost, without redundancy: waited for once, then concealed for one frame; nothing skipped after it', () => {
  const arrivals = steady(100).filter((a) => a.index !== 40);
  const { decoded, stats, concealments } = simulate(arrivals, 95);
  expect(stats.concealed).toBe(1);
  expect(concealments).toBe(1);
  expect(stats.concealedMs).toBe(F);
  expectContinuous(decoded.slice(0, 40));
  expectContinuous(decoded.slice(40), 41);
});

test('late: a frame arriving after its turn is counted late and not played', () => {
  const arrivals = steady(100).map((a) => (a.index === 30 ? { ...a, at: a.at + 200 } : a));
  const { decoded, stats } = simulate(arrivals, 95);
  expect(stats.late).toBe(1);
  expect(decoded.some((p) => p.index === 30)).toBe(false);
  expect(decoded.filter((p) => p.index > 30).length).toBeGreaterThan(50);
});

test('bursty: a 100 ms stall is ridden out without loss, then the delay shrinks back', () => {
  // Frames 50..54 are held and released together with frame 55.
  const arrivals = steady(800).map((a) => (a.index >= 50 && a.index < 55 ? { ...a, at: 55 * F + 5 } : a));
  const { decoded, stats, delays } = simulate(arrivals, 790);
  expect(stats.late + stats.concealed).toBe(0);
  expectContinuous(decoded);
  expect(Math.max(...delays)).toBeGreaterThanOrEqual(80);
  expect(stats.insertedMs).toBeGreaterThanOrEqual(90);
  expect(stats.removedMs).toBeGreaterThanOrEqual(80);
  expect(delays[delays.length - 1]).toBeLessThan(F);
});

test('jitter: the target grows to cover it, and returns when the network calms down', () => {
  const rnd = seededRandom(7);
  const arrivals = steady(1500).map((a) => (a.index < 750 ? { ...a, at: a.at + rnd() * 30 } : a));
  const { history, delays, jb } = simulate(arrivals, 1480);
  const concealedFrames = (history[740].concealed - history[150].concealed) / F;
  expect(concealedFrames / 590).toBeLessThan(0.02);
  expect(Math.max(...delays.slice(150, 740))).toBeGreaterThan(25);
  expect(delays[delays.length - 1]).toBeLessThan(F);
  expect(jb.stats().targetDelayMs).toBeLessThan(10);
});

test('a paused stream goes idle, and restarts with the next packet', () => {
  const arrivals = [...steady(50), ...steady(50).map((a) => ({ index: a.index + 500, at: a.at + 3000 }))];
  const { decoded, out } = simulate(arrivals, 200);
  const silentTicks = Array.from({ length: 200 }, (_, k) => out.subarray(k * 960, (k + 1) * 960)).filter((f) => f.every((v) => v === 0));
  expect(silentTicks.length).toBeGreaterThan(50);
  expect(decoded.filter((p) => p.index >= 500).length).toBeGreaterThan(5);
});

test('after waiting for one late frame, the delay comes back down to the safety margin', () => {
  const arrivals = steady(400).map((a) => (a.index === 30 ? { ...a, at: a.at + 15 } : a));
  const { stats, delays } = simulate(arrivals, 390);
  expect(stats.insertedMs).toBeGreaterThan(0);
  expect(stats.concealed + stats.late).toBe(0);
  // What was inserted to wait is taken out again.
  expect(stats.removedMs).toBeCloseTo(stats.insertedMs, 0);
  expect(Math.max(...delays)).toBeGreaterThan(F);
  expect(delays[delays.length - 1]).toBeLessThan(5);
});

test('a lasting 10 ms step up in network delay costs no concealment, and the delay settles', () => {
  const arrivals = steady(400).map((a) => (a.index >= 30 ? { ...a, at: a.at + 10 } : a));
  const { stats, delays } = simulate(arrivals, 390);
  expect(stats.insertedMs).toBeGreaterThan(0);
  expect(stats.concealed + stats.late).toBe(0);
  expect(delays[delays.length - 1]).toBeLessThan(5);
});
