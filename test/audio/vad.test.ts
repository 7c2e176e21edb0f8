import { Vad } from '../../src/audio/processing/vad';
import { seededRandom, speechLike } from '../../src/audio/signals';
import { rms } from '../helpers/audio';

const RATE = 48;

function whiteNoise(seed: number, samples: number, amplitude: number): Float64Array {
  const rnd = seededRandom(seed);
  return Float64Array.from({ length: samples }, () => (rnd() * 2 - 1) * amplitude);
}

/** Speech (after `leadMs` of background) mixed with noise scaled to `snrDb` below the speech's active level. */
function scene(opts: { leadMs: number; speechMs: number; tailMs: number; snrDb: number | null; seed?: number }) {
  const speech = speechLike(opts.seed ?? 11, opts.speechMs, 0.4);
  const n = (opts.leadMs + opts.speechMs + opts.tailMs) * RATE;
  const lead = opts.leadMs * RATE;
  // The speech's power over its active samples.
  let p = 0;
  let active = 0;
  for (const x of speech) if (Math.abs(x) > 50) (p += x * x), active++;
  const speechRms = Math.sqrt(p / active);
  const noiseRms = opts.snrDb === null ? 0 : speechRms / 10 ** (opts.snrDb / 20);
  const noise = whiteNoise(3, n, noiseRms * Math.sqrt(3));
  const mixed = new Int16Array(n);
  for (let i = 0; i < n; i++) mixed[i] = Math.max(-32768, Math.min(32767, Math.round(noise[i] + (i >= lead && i - lead < speech.length ? speech[i - lead] : 0))));
  return { mixed, speech, lead, speechRms };
}

/** Each frame's verdict, and whether the clean speech in it is active (within 10 dB of its mean level). */
function judge(frameMs: number, s: ReturnType<typeof scene>) {
  const vad = new Vad();
  const size = frameMs * RATE;
  const out: { voice: boolean; speech: boolean; at: number }[] = [];
  for (let at = 0; at + size <= s.mixed.length; at += size) {
    const frame = s.mixed.slice(at, at + size);
    const from = at - s.lead;
    const clean = from >= 0 && from < s.speech.length ? s.speech.subarray(from, Math.min(s.speech.length, from + size)) : new Int16Array(0);
    out.push({ voice: vad.process(frame), speech: clean.length > 0 && rms(clean) > s.speechRms / 3, at: at / RATE });
  }
  return out;
}

/** Frames of background only, well away from any speech (beyond the hangover). */
function backgroundOnly(v: ReturnType<typeof judge>, frameMs: number, s: ReturnType<typeof scene>, guardMs = 400) {
  const start = s.lead / RATE;
  const end = start + s.speech.length / RATE;
  return v.filter((f) => f.at + frameMs < start || f.at > end + guardMs);
}

describe.each([10, 20, 40])('%i ms frames', (frameMs) => {
  test('speech between digital silence: the speech is voice, the silence is not, and voice holds briefly after speech ends', () => {
    const s = scene({ leadMs: 1000, speechMs: 3000, tailMs: 1000, snrDb: null });
    const v = judge(frameMs, s);
    const speech = v.filter((f) => f.speech);
    expect(speech.filter((f) => f.voice).length / speech.length).toBeGreaterThanOrEqual(0.98);
    expect(v.filter((f) => f.at < 1000).some((f) => f.voice)).toBe(false);
    const end = 1000 + 3000;
    // Hangover: still voice right after the end, not half a second later.
    const after = v.filter((f) => f.at >= end + 500);
    expect(after.some((f) => f.voice)).toBe(false);
  });

  test.each([10, 5])('speech in stationary noise at %i dB SNR: most speech is voice, the noise alone is not', (snr) => {
    const s = scene({ leadMs: 3000, speechMs: 4000, tailMs: 2000, snrDb: snr });
    const v = judge(frameMs, s);
    const speech = v.filter((f) => f.speech);
    const hit = speech.filter((f) => f.voice).length / speech.length;
    // The first seconds learn the background (it starts 30 dB above where the floor does).
    const background = backgroundOnly(v, frameMs, s).filter((f) => f.at > 2500);
    const falseAlarm = background.filter((f) => f.voice).length / background.length;
    expect(hit).toBeGreaterThanOrEqual(snr >= 10 ? 0.9 : 0.8);
    expect(falseAlarm).toBeLessThanOrEqual(0.05);
  });
});

test('a background that gets louder becomes the floor within seconds', () => {
  const quiet = whiteNoise(1, 2000 * RATE, 100);
  const loud = whiteNoise(2, 6000 * RATE, 2000);
  const x = Int16Array.from([...quiet, ...loud], Math.round);
  const vad = new Vad();
  const verdicts: boolean[] = [];
  for (let at = 0; at + 960 <= x.length; at += 960) verdicts.push(vad.process(x.subarray(at, at + 960)));
  expect(verdicts.slice(-50).some((v) => v)).toBe(false);
});

test('a single short burst is not speech; two frames in a row above the floor are', () => {
  const vad = new Vad({ hangoverMs: 0 });
  const quiet = Int16Array.from(whiteNoise(1, 960, 300), Math.round);
  for (let k = 0; k < 50; k++) vad.process(quiet);
  // About 6 dB above the floor (two frames: onset): above the threshold, below the instant onset.
  const louder = Int16Array.from(whiteNoise(2, 960, 600), Math.round);
  expect(vad.process(louder)).toBe(false);
  expect(vad.process(quiet)).toBe(false);
  expect(vad.process(louder)).toBe(false);
  expect(vad.process(louder)).toBe(true);
  // Well above it: voice at once.
  vad.process(quiet);
  vad.process(quiet);
  expect(vad.process(Int16Array.from(whiteNoise(3, 960, 6000), Math.round))).toBe(true);
});
