/**
 * A 30 s call on a calm loopback link, speech-like audio one way: after the first second the
 * recording is the sent signal (every 100 ms window correlates with it), and nothing is inserted,
 * removed or concealed. On a busy machine the event loop itself stalls (both phones run on it);
 * what that costs is measured and allowed for: windows played during a stall, or while the
 * buffer takes a stall back, are left out, and the rest must still match.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/server';
import { Phone, type ActiveCall } from '../../src/client/phone';
import { encodeWav, WavFileSource } from '../../src/audio';
import { speechLike } from '../../src/audio/signals';
import type { CallStats } from '../../src/media/stats';
import { correlationAt, rms } from '../helpers/audio';
import { waitUntil } from '../helpers/wait';
import { LoopStalls, RecordingSink } from './media-helpers';

const CALL_MS = 30_000;
const SKIP_MS = 1000;
const WINDOW = 4800; // 100 ms
const RATE = 48;

// 30 s of call, and on a starved machine several times that.
jest.setTimeout(300_000);

let server: RunningServer;
let dir: string;
const phones: Phone[] = [];

beforeAll(async () => {
  server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error' });
  dir = mkdtempSync(join(tmpdir(), 'parley-calm-'));
});
afterAll(async () => {
  await Promise.all(phones.map((p) => p.close()));
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function phone(name: string): Promise<Phone> {
  // L16: what is checked is the playout, sample for sample; Opus's own coding error alone takes
  // some windows of this signal to a correlation of 0.88.
  const p = await Phone.connect({ server: { host: '127.0.0.1', port: server.port }, udpHost: '127.0.0.1', codecs: ['pcm'] });
  phones.push(p);
  await p.register(name);
  return p;
}

/**
 * Where the recording window `a` (at recording index `at`) lies in `sent`, as an offset (sent
 * index = recording index + offset) within ±`span` of `around`: a coarse search on 8× summed
 * samples when the span is wide, then sample by sample.
 */
function locate(a: Int16Array, sent: Int16Array, at: number, around: number, span: number): { offset: number; ncc: number } {
  let lo = around - span;
  let hi = around + span;
  if (span > 30 * RATE) {
    const D = 8;
    const sum = (x: Int16Array, from: number, n: number) => {
      const out = new Float64Array(Math.floor(n / D));
      for (let i = 0; i < out.length; i++) for (let k = 0; k < D; k++) out[i] += x[from + i * D + k] ?? 0;
      return out;
    };
    const from = Math.max(0, at + lo);
    const coarseA = sum(a, 0, a.length);
    const coarseB = sum(sent, from, at + hi - from + a.length);
    let best = { lag: 0, c: -Infinity };
    for (let lag = 0; lag <= (hi - lo) / D; lag++) {
      const c = correlationAt(coarseA, coarseB, lag);
      if (c > best.c) best = { lag, c };
    }
    const centre = from - at + best.lag * D;
    lo = centre - D;
    hi = centre + D;
  }
  let best = { offset: around, ncc: -Infinity };
  for (let o = lo; o <= hi; o++) {
    if (at + o < 0) continue;
    const c = correlationAt(a, sent, at + o);
    if (c > best.ncc) best = { offset: o, ncc: c };
  }
  return best;
}

/**
 * Every voiced 100 ms window of the recording after the first second against the sent signal,
 * aligned once globally and then window by window: at the alignment the previous window had,
 * else the best within ±3 ms, else (the delay moved by a stretch) within ±30 ms. Windows played
 * while this process stalled (when audio had to be made up: nothing had come) are left out, and
 * the alignment is found afresh after them. Returns each window's correlation, and how many
 * windows were left out.
 */
function windowCorrelations(rec: Int16Array, sent: Int16Array, stalled: (fromSample: number, toSample: number) => boolean) {
  const start = SKIP_MS * RATE;
  let offset = locate(rec.subarray(start, start + 2000 * RATE), sent, start, 1500 * RATE, 1500 * RATE).offset;
  // Pauses and their edges carry too little to compare: stretching in silence moves time freely.
  const loud = rms(sent) * 0.3;
  const nccs: number[] = [];
  let skipped = 0;
  let lost = false;
  for (let at = start; at + WINDOW <= rec.length - 200 * RATE; at += WINDOW) {
    if (stalled(at, at + WINDOW)) {
      skipped++;
      lost = true;
      continue;
    }
    const a = rec.subarray(at, at + WINDOW);
    if (lost) {
      // A stall of seconds may have moved the delay by as much; a pause can't say where it is.
      if (rms(a) < loud) continue;
      offset = locate(a, sent, at, offset, 2000 * RATE).offset;
      lost = false;
    }
    if (rms(sent.subarray(at + offset, at + offset + WINDOW)) < loud) continue;
    let best = { offset, ncc: correlationAt(a, sent, at + offset) };
    if (best.ncc < 0.95) best = locate(a, sent, at, offset, 3 * RATE);
    if (best.ncc < 0.9) best = locate(a, sent, at, offset, 30 * RATE);
    offset = best.offset;
    nccs.push(best.ncc);
  }
  return { nccs, skipped };
}

const changes = (s: CallStats) => ({ insertedMs: s.insertedMs, removedMs: s.removedMs, concealedMs: s.concealedMs });

test('a 30 s call on a calm link: the recording matches what was sent, and after the first second nothing is stretched or concealed', async () => {
  const sent = speechLike(21, CALL_MS + 3000, 0.5);
  const wav = join(dir, 'speech.wav');
  writeFileSync(wav, encodeWav(sent));
  const alice = await phone('alice');
  const bob = await phone('bob');
  const heard = new RecordingSink();
  const bobCall = new Promise<ActiveCall>((r) => bob.once('incoming', (c) => void c.accept({ input: new WavFileSource(wav), output: 'null' }).then(r)));
  // The playout holds ~5 ms on this link (its target adapts to the link's jitter), so a tick of
  // this process late by more than that can make it stretch: such a tick counts as a stall here,
  // not only the 8 ms the watcher takes for one elsewhere.
  const stalls = new LoopStalls(5, 4);
  const call = await alice.call('bob', { input: 'silence', output: heard }).result;
  await bobCall;

  await waitUntil(() => heard.frames.length >= SKIP_MS / call.frameMs, 'the first second played');
  const atOneSecond = changes(call.stats());
  // How far over target the buffer's delay was, by recording position: after a stall it is
  // far over while the playout takes the stall back, compressing as it goes.
  // And when the playout stretched or compressed, by recording position and time.
  const over: { at: number; t: number; ms: number; stretchedMs: number }[] = [];
  const sampler = setInterval(() => {
    const s = call.stats();
    over.push({ at: heard.frames.length * heard.frames[0].length, t: performance.now(), ms: s.bufferDelayMs - s.targetDelayMs, stretchedMs: s.insertedMs + s.removedMs });
  }, 20);
  await waitUntil(() => heard.frames.length >= (CALL_MS + SKIP_MS) / call.frameMs, 'the call to have played 31 s', 6 * CALL_MS);
  stalls.stop();
  clearInterval(sampler);
  const end = call.stats();
  await call.hangup();

  const rec = heard.samples();
  // A window was played during a stall when a frame in it was written from the stall's start
  // to 100 ms after its end (the ticks the stall held up all run at its end), or while the
  // buffer, after stalls, was still more than two frames over target: taking a stall back
  // compresses all along, more than a window can be aligned across. So was a window in which
  // the playout stretched or compressed within a second of a stall's end: its answer to the
  // stall, which can come a few frames later, when the frame the stall held up is due.
  const frameSamples = rec.length / heard.frames.length;
  const stalled = (from: number, to: number) => {
    const t0 = heard.times[Math.floor(from / frameSamples)];
    const t1 = heard.times[Math.min(heard.times.length - 1, Math.ceil(to / frameSamples))];
    const during = stalls.spans.some((s) => s.from - call.frameMs <= t1 && s.to + 100 >= t0);
    const recovering = stalls.spans.length > 0 && over.some((o) => o.at >= from - 100 * RATE && o.at <= to && o.ms > 2 * call.frameMs);
    const answering = over.some(
      (o, i) => i > 0 && o.at >= from - 100 * RATE && o.at <= to && o.stretchedMs > over[i - 1].stretchedMs && stalls.spans.some((s) => s.to <= o.t && o.t - s.to <= 1000),
    );
    return during || recovering || answering;
  };
  const { nccs, skipped } = windowCorrelations(rec, sent, stalled);
  const after = {
    insertedMs: end.insertedMs - atOneSecond.insertedMs,
    removedMs: end.removedMs - atOneSecond.removedMs,
    concealedMs: end.concealedMs - atOneSecond.concealedMs,
  };
  console.log(
    `calm call: ${nccs.length} windows (${skipped} left out for stalls), NCC min ${Math.min(...nccs).toFixed(3)}, ` +
      `after the first second inserted ${after.insertedMs.toFixed(1)} ms, removed ${after.removedMs.toFixed(1)} ms, concealed ${after.concealedMs} ms; ` +
      `loop stalls ${stalls.totalMs.toFixed(0)} ms; buffer ${end.bufferDelayMs.toFixed(1)} ms (target ${end.targetDelayMs.toFixed(1)})`,
  );
  // Without stalls every window counts.
  if (stalls.spans.length === 0) expect(skipped).toBe(0);
  expect(nccs.length).toBeGreaterThan(50);
  expect(Math.min(...nccs)).toBeGreaterThanOrEqual(0.9);
  // A stall of this process holds up both phones (and may overflow the socket's buffer); the
  // playout rides it out by stretching: each stalled frame at most waited for once and taken
  // back once. Without stalls: nothing at all, nothing lost.
  const allowed = stalls.frames(call.frameMs) * call.frameMs;
  expect(end.packetsLost).toBeLessThanOrEqual(stalls.frames(call.frameMs));
  expect(after.insertedMs).toBeLessThanOrEqual(2 * allowed);
  expect(after.removedMs).toBeLessThanOrEqual(2 * allowed);
  expect(after.concealedMs).toBeLessThanOrEqual(allowed);
});
