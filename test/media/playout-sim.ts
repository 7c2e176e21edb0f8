/**
 * Scripted arrivals replayed through the jitter buffer and the playout on an injected clock:
 * the playout clock starts at the first arrival plus the buffer's initial delay and ticks
 * once a frame, sooner when asked, as the media session's does. The "decoder" plays a known signal, so
 * what comes out can be compared with what went in.
 */
import { JitterBuffer, type JitterBufferOptions } from '../../src/media/jitter-buffer';
import { Playout } from '../../src/media/playout';
import { speechLike } from '../../src/audio/signals';
import { correlationAt } from '../helpers/audio';

export const F = 20;
const N = 960;

/** One packet as scripted: its frame, when it arrives, and the earlier frames it carries (RED). */
export interface Arrival {
  index: number;
  at: number;
  redundant?: number[];
}

interface Payload {
  index: number;
  redundant: boolean;
}

export const steady = (n: number, delay = 5, red = 0): Arrival[] =>
  Array.from({ length: n }, (_, i) => ({
    index: i,
    at: i * F + delay,
    redundant: Array.from({ length: Math.min(red, i) }, (_, k) => i - 1 - k),
  }));

let voiced: Int16Array | undefined;

/** A voiced test signal with pauses, long enough for `frames` frames (made once: it is slow to make). */
export function voice(frames: number): Int16Array {
  if (!voiced || voiced.length < (frames + 50) * N) voiced = speechLike(3, Math.max(frames * F + 1000, 32_000), 0.5);
  return voiced;
}

export function simulate(arrivals: Arrival[], ticks: number, opts: { signal?: Int16Array; jitter?: Partial<JitterBufferOptions> } = {}) {
  const signal = opts.signal ?? voice(Math.max(...arrivals.map((a) => a.index)) + 1);
  const jb = new JitterBuffer<Payload>({ frameMs: F, ...opts.jitter });
  const decoded: Payload[] = [];
  let concealments = 0;
  // How much sooner the clock was asked to tick, in all.
  let shift = 0;
  const playout = new Playout(
    jb,
    {
      decode: (p: Payload) => {
        decoded.push(p);
        return signal.slice(p.index * N, (p.index + 1) * N);
      },
      conceal: () => {
        concealments++;
        return new Int16Array(N);
      },
    },
    F,
    (ms) => {
      shift += ms;
    },
  );
  const queue = [...arrivals].sort((a, b) => a.at - b.at);
  const start = queue[0].at + jb.initialDelayMs();
  const out = new Int16Array(ticks * N);
  const delays: number[] = [];
  const history: { inserted: number; removed: number; concealed: number }[] = [];
  let q = 0;
  for (let k = 0; k < ticks; k++) {
    const now = start + k * F - shift;
    for (; q < queue.length && queue[q].at <= now; q++) {
      const a = queue[q];
      for (const r of a.redundant ?? []) jb.push(r, { index: r, redundant: true }, 'redundant', a.at);
      jb.push(a.index, { index: a.index, redundant: false }, 'primary', a.at);
    }
    out.set(playout.tick(now), k * N);
    delays.push(jb.stats().delayMs);
    const s = playout.stats();
    history.push({ inserted: s.insertedMs, removed: s.removedMs, concealed: s.concealedMs });
  }
  return { jb, signal, out, shift, decoded, concealments, delays, history, stats: { ...jb.stats(), ...playout.stats() } };
}

/**
 * Compares the output with the input 10 ms at a time. The output should be the input delayed,
 * displaced by exactly the audio the playout says it inserted and removed so far: each block
 * is searched within ±`searchMs` of that and its normalized correlation returned (blocks silent
 * in both are skipped). A whole frame inserted or dropped in speech, or a gap, shows as blocks
 * no alignment explains; a pitch period repeated or removed does not.
 */
export function blockCorrelations(
  r: { out: Int16Array; signal: Int16Array; history: { inserted: number; removed: number }[] },
  fromSample: number,
  searchMs = 10,
): { at: number; ncc: number }[] {
  const { out, signal: input, history } = r;
  const block = 480;
  const search = searchMs * 48;
  const net = (s: number) => {
    const h = history[Math.min(history.length - 1, Math.floor(s / N))];
    return Math.round((h.inserted - h.removed) * 48);
  };
  // Where the output starts in the input: found once, within half a second.
  const base = bestOffset(out.subarray(fromSample, fromSample + 4 * block), input, fromSample, -24000, 0).offset + net(fromSample);
  const result: { at: number; ncc: number }[] = [];
  for (let s = fromSample; s + block <= out.length; s += block) {
    const a = out.subarray(s, s + block);
    const center = base - net(s);
    const ref = input.subarray(Math.max(0, s + center), Math.max(0, s + center) + block);
    if (energy(a) < 1e4 * block && energy(ref) < 1e4 * block) continue;
    // Where the counters say is usually exact; search only when it is not.
    const there = correlationAt(a, input, s + center);
    result.push({ at: s, ncc: there > 0.99 ? there : bestOffset(a, input, s, center - search, center + search).ncc });
  }
  return result;
}

export function minCorrelation(blocks: { ncc: number }[]): number {
  return Math.min(...blocks.map((b) => b.ncc));
}

function bestOffset(a: Int16Array, input: Int16Array, at: number, lo: number, hi: number): { offset: number; ncc: number } {
  let best = { offset: lo, ncc: -Infinity };
  for (let o = lo; o <= hi; o++) {
    if (at + o < 0) continue;
    const c = correlationAt(a, input, at + o);
    if (c > best.ncc) best = { offset: o, ncc: c };
  }
  return best;
}

function energy(x: Int16Array): number {
  let e = 0;
  for (let i = 0; i < x.length; i++) e += x[i] * x[i];
  return e;
}

/** The largest step between neighbouring samples: a splice without a cross-fade is a step. */
export function largestStep(x: Int16Array, from = 0): number {
  let m = 0;
  for (let i = Math.max(1, from); i < x.length; i++) m = Math.max(m, Math.abs(x[i] - x[i - 1]));
  return m;
}
