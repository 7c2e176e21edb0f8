import { TimeStretcher } from '../../src/audio/time-stretch';
import { tone } from '../../src/audio/signals';
import { dominantFrequency, rms } from '../helpers/audio';

/** A voice-like periodic signal: 150 Hz with harmonics. */
function voiced(ms: number, f0 = 150): Int16Array {
  const a = tone(f0, ms, 0.3);
  const b = tone(2 * f0, ms, 0.15);
  const c = tone(3 * f0, ms, 0.08);
  return a.map((v, i) => v + b[i] + c[i]);
}

const stretcher = new TimeStretcher();
const PERIOD = 320; // 150 Hz at 48 kHz

function largestStep(x: Int16Array): number {
  let m = 0;
  for (let i = 1; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - x[i - 1]));
  return m;
}

test('compressing a voiced signal removes whole pitch periods, keeps the pitch and the waveform smooth', () => {
  const x = voiced(60);
  const r = stretcher.accelerate(x, 960);
  expect(r.change).toBeLessThan(0);
  expect(-r.change).toBeLessThanOrEqual(960);
  // A multiple of the period, to within a sample or two.
  const periods = -r.change / PERIOD;
  expect(Math.abs(periods - Math.round(periods))).toBeLessThan(0.02);
  expect(r.samples.length).toBe(x.length + r.change);
  expect(Math.abs(dominantFrequency(r.samples, 48000, 50, 1000, 1) - 150)).toBeLessThanOrEqual(2);
  expect(largestStep(r.samples)).toBeLessThanOrEqual(largestStep(x) * 1.05);
  // The first sample is not touched: it continues what was played.
  expect(r.samples[0]).toBe(x[0]);
});

test('expanding a voiced signal repeats a period, keeps the pitch and the waveform smooth', () => {
  const x = voiced(60);
  const r = stretcher.expand(x, 480);
  expect(r.change).toBeGreaterThan(0);
  expect(r.change).toBeLessThanOrEqual(480);
  const periods = r.change / PERIOD;
  expect(Math.abs(periods - Math.round(periods))).toBeLessThan(0.02);
  expect(Math.abs(dominantFrequency(r.samples, 48000, 50, 1000, 1) - 150)).toBeLessThanOrEqual(2);
  expect(largestStep(r.samples)).toBeLessThanOrEqual(largestStep(x) * 1.05);
});

test('asked for less than a period of a voiced signal, it changes nothing rather than break the waveform', () => {
  const x = voiced(60);
  expect(stretcher.accelerate(x, 100).change).toBe(0);
  expect(stretcher.expand(x, 100).change).toBe(0);
});

test('noise, which has no period, is not compressed', () => {
  let seed = 1;
  const x = new Int16Array(2880).map(() => ((seed = (seed * 1103515245 + 12345) >>> 0) % 20000) - 10000);
  expect(stretcher.accelerate(x, 960).change).toBe(0);
});

test('in silence the length is free: exactly what is asked for', () => {
  const x = new Int16Array(2880).map((_, i) => (i % 7) - 3);
  expect(stretcher.accelerate(x, 500).change).toBe(-500);
  expect(stretcher.expand(x, 700).change).toBe(700);
  expect(stretcher.extend(x, 333).length).toBe(333);
});

test('extending what was played: whole periods at least as long as needed, ending where the next sample follows', () => {
  const x = voiced(100);
  const played = x.subarray(0, 2400);
  const more = stretcher.extend(played, 960);
  expect(more.length).toBeGreaterThanOrEqual(960);
  expect(more.length).toBeLessThan(960 + PERIOD + 2);
  const periods = more.length / PERIOD;
  expect(Math.abs(periods - Math.round(periods))).toBeLessThan(0.02);
  // Played, then the extension, then what really comes next: one smooth, same-pitch signal.
  const joined = new Int16Array([...played, ...more, ...x.subarray(2400)]);
  expect(largestStep(joined)).toBeLessThanOrEqual(largestStep(x) * 1.1);
  expect(Math.abs(dominantFrequency(joined, 48000, 50, 1000, 1) - 150)).toBeLessThanOrEqual(2);
  expect(rms(more)).toBeGreaterThan(rms(played) * 0.9);
});

test('extending with nothing played yet gives silence', () => {
  expect(Array.from(stretcher.extend(new Int16Array(0), 960))).toEqual(new Array(960).fill(0));
});
