import { JitterBuffer, type JitterBufferOptions, type Playout } from '../../src/media/jitter-buffer';
import { seededRandom } from '../../src/audio/signals';

const F = 20;

/** One packet as scripted: its frame, when it arrives, and the earlier frames it carries (RED). */
interface Arrival {
  index: number;
  at: number;
  redundant?: number[];
}

/**
 * Replays scripted arrivals against a playout clock that starts at the first arrival plus the
 * buffer's initial delay and ticks every frame (sooner when the buffer asks), as the media
 * session does.
 */
function simulate(arrivals: Arrival[], ticks: number, opts: Partial<JitterBufferOptions> = {}) {
  const jb = new JitterBuffer<number>({ frameMs: F, ...opts });
  const queue = [...arrivals].sort((a, b) => a.at - b.at);
  const start = queue[0].at + jb.initialDelayMs();
  const out: Playout<number>[] = [];
  const delays: number[] = [];
  let q = 0;
  let now = start;
  for (let k = 0; k < ticks; k++, now += F) {
    for (; q < queue.length && queue[q].at <= now; q++) {
      const a = queue[q];
      for (const r of a.redundant ?? []) jb.push(r, r, 'redundant', a.at);
      jb.push(a.index, a.index, 'primary', a.at);
    }
    const p = jb.pull(now);
    out.push(p);
    delays.push(jb.stats().delayMs);
    // The clock retimes its next tick when asked, as the media session does.
    if (p.kind !== 'idle') now -= p.advanceMs;
  }
  const played = out.filter((p): p is Extract<Playout<number>, { kind: 'frame' }> => p.kind === 'frame');
  return { jb, out, played, delays, stats: jb.stats() };
}

const steady = (n: number, delay = 5, red = 0): Arrival[] =>
  Array.from({ length: n }, (_, i) => ({
    index: i,
    at: i * F + delay,
    redundant: Array.from({ length: Math.min(red, i) }, (_, k) => i - 1 - k),
  }));

/** Played frame indices are consecutive: nothing skipped, nothing out of order. */
function expectContinuous(played: { index: number }[], from = 0): void {
  played.forEach((p, i) => expect(p.index).toBe(from + i));
}

test('in order: every frame plays from its own packet, a safety margin after it arrives', () => {
  const { played, stats, out } = simulate(steady(100), 100);
  expect(out.every((p) => p.kind === 'frame')).toBe(true);
  expectContinuous(played);
  expect(played.every((p) => p.source === 'primary')).toBe(true);
  expect(stats).toMatchObject({ late: 0, duplicate: 0, concealed: 0, stretched: 0, dropped: 0 });
  expect(stats.delayMs).toBeLessThan(F);
});

test('reordered: the first swap costs a frame, then the buffer has grown to hold them', () => {
  const arrivals = steady(300).map((a) => (a.index % 10 === 5 ? { ...a, at: a.at + 25 } : a));
  const { played, stats, out } = simulate(arrivals, 290);
  expect(stats.concealed).toBeLessThanOrEqual(1);
  expect(stats.late).toBeLessThanOrEqual(1);
  const after = played.filter((p) => p.index > 20);
  expectContinuous(after, 21);
  expect(out.slice(-200).every((p) => p.kind === 'frame')).toBe(true);
  expect(stats.targetDelayMs).toBeGreaterThanOrEqual(25);
});

test('duplicated: copies are counted and dropped', () => {
  const arrivals = steady(100).flatMap((a) => [a, { ...a, at: a.at + 3 }]);
  const { played, stats } = simulate(arrivals, 100);
  expectContinuous(played);
  expect(stats.duplicate).toBe(100);
  expect(stats.concealed).toBe(0);
});

test('lost, with redundancy: the frame is played exactly from the next packet', () => {
  const arrivals = steady(100, 5, 2).filter((a) => a.index !== 40);
  const { played, stats, out } = simulate(arrivals, 100);
  expectContinuous(played);
  expect(played.find((p) => p.index === 40)?.source).toBe('redundant');
  expect(stats.recovered).toBe(1);
  expect(stats.concealed).toBe(0);
  // Waiting for the copy inserted one frame of concealment: the buffer grew by one frame.
  expect(stats.stretched).toBe(1);
  expect(out.filter((p) => p.kind === 'conceal').every((p) => p.kind === 'conceal' && p.reason === 'stretch')).toBe(true);
});

test('lost, with redundancy, after the buffer has made room: no concealment at all', () => {
  const arrivals = steady(200, 5, 2).filter((a) => a.index !== 40 && a.index !== 100 && a.index !== 150);
  const { played, stats } = simulate(arrivals, 195);
  expectContinuous(played);
  expect(stats.recovered).toBe(3);
  expect(stats.concealed).toBe(0);
  expect(stats.stretched).toBe(1);
});

test('two packets in a row lost: both recovered from a packet carrying two earlier frames', () => {
  const arrivals = steady(100, 5, 2).filter((a) => a.index !== 40 && a.index !== 41);
  const { played, stats } = simulate(arrivals, 100);
  expect(played.filter((p) => p.source === 'redundant').map((p) => p.index)).toEqual([40, 41]);
  expect(stats.recovered).toBe(2);
  expect(stats.concealed).toBe(0);
  // The copies came two frames late: the buffer waited two frames, then gave one back.
  expect(stats.stretched).toBe(2);
  expect(stats.dropped).toBe(1);
  expectContinuous(played.slice(0, 60));
});

test('lost, without redundancy: waited for once, then concealed; nothing skipped after it', () => {
  const arrivals = steady(100).filter((a) => a.index !== 40);
  const { out, stats } = simulate(arrivals, 100);
  expect(stats.concealed).toBe(1);
  expect(out[40]).toMatchObject({ kind: 'conceal', index: 40, reason: 'stretch' });
  expect(out[41]).toMatchObject({ kind: 'conceal', index: 40, reason: 'missing' });
  expect(out[42]).toMatchObject({ kind: 'frame', index: 41 });
});

test('late: a frame arriving after its turn is counted late and not played', () => {
  const arrivals = steady(100).map((a) => (a.index === 30 ? { ...a, at: a.at + 200 } : a));
  const { played, stats } = simulate(arrivals, 100);
  expect(stats.late).toBe(1);
  expect(played.some((p) => p.index === 30)).toBe(false);
  expect(played.filter((p) => p.index > 30).length).toBeGreaterThan(50);
});

test('bursty: a 100 ms stall is ridden out without loss, then the delay shrinks back', () => {
  // Frames 50..54 are held and released together with frame 55.
  const arrivals = steady(800).map((a) => (a.index >= 50 && a.index < 55 ? { ...a, at: 55 * F + 5 } : a));
  const { played, stats, delays } = simulate(arrivals, 790);
  expect(stats.late + stats.concealed).toBe(0);
  expect(Math.max(...delays)).toBeGreaterThanOrEqual(80);
  expect(played.map((p) => p.index)).toEqual([...new Set(played.map((p) => p.index))].sort((a, b) => a - b));
  expect(stats.dropped).toBeGreaterThanOrEqual(4);
  expect(delays[delays.length - 1]).toBeLessThan(F);
});

test('jitter: the target grows to cover it, and returns when the network calms down', () => {
  const rnd = seededRandom(7);
  const arrivals = steady(1500).map((a) => (a.index < 750 ? { ...a, at: a.at + rnd() * 30 } : a));
  const { out, delays, jb } = simulate(arrivals, 1480);
  const jittery = out.slice(150, 740);
  const missing = jittery.filter((p) => p.kind === 'conceal' && p.reason === 'missing').length;
  expect(missing / jittery.length).toBeLessThan(0.02);
  expect(Math.max(...delays.slice(150, 740))).toBeGreaterThan(25);
  expect(delays[delays.length - 1]).toBeLessThan(F);
  expect(jb.stats().targetDelayMs).toBeLessThan(10);
});

test('a paused stream goes idle, and restarts with the next packet', () => {
  const arrivals = [...steady(50), ...steady(50).map((a) => ({ index: a.index + 500, at: a.at + 3000 }))];
  const { out } = simulate(arrivals, 200);
  expect(out.some((p) => p.kind === 'idle')).toBe(true);
  expect(out.filter((p) => p.kind === 'frame' && p.index >= 500).length).toBeGreaterThan(5);
});

test('after waiting for one late frame, the delay comes back down to the safety margin', () => {
  const arrivals = steady(400).map((a) => (a.index === 30 ? { ...a, at: a.at + 15 } : a));
  const { stats, delays, out } = simulate(arrivals, 390);
  expect(stats.stretched).toBe(1);
  expect(stats.concealed + stats.late).toBe(0);
  // The inserted frame is given back: one frame dropped, the rest by retiming.
  expect(stats.dropped).toBeLessThanOrEqual(1);
  expect(Math.max(...delays)).toBeGreaterThan(F);
  expect(delays[delays.length - 1]).toBeLessThan(5);
});

test('a lasting 10 ms step in network delay is absorbed by retiming the clock, not by dropping audio', () => {
  const arrivals = steady(400).map((a) => (a.index >= 30 ? { ...a, at: a.at + 10 } : a));
  const { stats, delays, out } = simulate(arrivals, 390);
  expect(stats.stretched).toBe(1);
  expect(stats.concealed + stats.late + stats.dropped).toBe(0);
  expect(out.filter((p) => p.kind !== 'idle' && p.advanceMs > 0).length).toBeGreaterThanOrEqual(1);
  expect(delays[delays.length - 1]).toBeLessThan(5);
});
