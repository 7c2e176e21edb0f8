/**
 * A 30 s call on a calm loopback link, speech-like audio one way: after the first second the
 * recording is the sent signal (every 100 ms window correlates with it), and nothing is inserted,
 * removed or concealed. On a busy machine the event loop itself stalls (both phones run on it);
 * what that costs is measured, and absorbed by stretching: the windows must still match.
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

jest.setTimeout(120_000);

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

/** Where `rec` starts in `sent` (sent index = recording index + offset), searched over the first 3 s. */
function globalOffset(rec: Int16Array, sent: Int16Array): number {
  const D = 8;
  const decimate = (x: Int16Array, from: number, n: number) => {
    const out = new Float64Array(Math.floor(n / D));
    for (let i = 0; i < out.length; i++) for (let k = 0; k < D; k++) out[i] += x[from + i * D + k] ?? 0;
    return out;
  };
  const a = decimate(rec, SKIP_MS * RATE, 2000 * RATE);
  const b = decimate(sent, 0, 6000 * RATE);
  let best = { lag: 0, c: -Infinity };
  for (let lag = -Math.floor((SKIP_MS * RATE) / D); lag < (3000 * RATE) / D; lag++) {
    const c = correlationAt(a, b, lag + (SKIP_MS * RATE) / D);
    if (c > best.c) best = { lag, c };
  }
  let fine = { offset: best.lag * D, c: -Infinity };
  for (let o = best.lag * D - D; o <= best.lag * D + D; o++) {
    const c = correlationAt(rec.subarray(SKIP_MS * RATE, SKIP_MS * RATE + 2000 * RATE), sent, SKIP_MS * RATE + o);
    if (c > fine.c) fine = { offset: o, c };
  }
  return fine.offset;
}

/**
 * Every voiced 100 ms window of the recording after the first second against the sent signal:
 * at the alignment the previous window had, else the best within ±3 ms, else (after the delay
 * moved by a stretch) within ±30 ms. Returns each window's correlation.
 */
function windowCorrelations(rec: Int16Array, sent: Int16Array, offset: number): number[] {
  const loud = rms(sent) * 0.1;
  const nccs: number[] = [];
  const search = (a: Int16Array, at: number, around: number, span: number) => {
    let best = { o: around, c: -Infinity };
    for (let o = around - span; o <= around + span; o++) {
      const c = correlationAt(a, sent, at + o);
      if (c > best.c) best = { o, c };
    }
    return best;
  };
  for (let at = SKIP_MS * RATE; at + WINDOW <= rec.length - 200 * RATE; at += WINDOW) {
    if (rms(sent.subarray(at + offset, at + offset + WINDOW)) < loud) continue;
    const a = rec.subarray(at, at + WINDOW);
    let best = { o: offset, c: correlationAt(a, sent, at + offset) };
    if (best.c < 0.95) best = search(a, at, offset, 3 * RATE);
    if (best.c < 0.9) best = search(a, at, offset, 30 * RATE);
    offset = best.o;
    nccs.push(best.c);
  }
  return nccs;
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
  const call = await alice.call('bob', { input: 'silence', output: heard }).result;
  await bobCall;

  await waitUntil(() => heard.frames.length >= SKIP_MS / call.frameMs, 'the first second played');
  const atOneSecond = changes(call.stats());
  const stalls = new LoopStalls();
  await waitUntil(() => heard.frames.length >= (CALL_MS + SKIP_MS) / call.frameMs, 'the call to have played 31 s', 2 * CALL_MS);
  stalls.stop();
  const end = call.stats();
  await call.hangup();

  const rec = heard.samples();
  const offset = globalOffset(rec, sent);
  const nccs = windowCorrelations(rec, sent, offset);
  const after = {
    insertedMs: end.insertedMs - atOneSecond.insertedMs,
    removedMs: end.removedMs - atOneSecond.removedMs,
    concealedMs: end.concealedMs - atOneSecond.concealedMs,
  };
  console.log(
    `calm call: ${nccs.length} windows, NCC min ${Math.min(...nccs).toFixed(3)}, ` +
      `after the first second inserted ${after.insertedMs.toFixed(1)} ms, removed ${after.removedMs.toFixed(1)} ms, concealed ${after.concealedMs} ms; ` +
      `loop stalls ${stalls.totalMs.toFixed(0)} ms; buffer ${end.bufferDelayMs.toFixed(1)} ms (target ${end.targetDelayMs.toFixed(1)})`,
  );
  expect(nccs.length).toBeGreaterThan(150);
  expect(Math.min(...nccs)).toBeGreaterThanOrEqual(0.9);
  expect(end.packetsLost).toBe(0);
  // A stall of this process holds up both phones; the playout rides it out by stretching, each
  // stall at most a frame's wait plus taking it back. Without stalls: nothing at all.
  const allowed = stalls.frames(call.frameMs) * 2 * call.frameMs;
  expect(after.insertedMs).toBeLessThanOrEqual(allowed);
  expect(after.removedMs).toBeLessThanOrEqual(allowed);
  expect(after.concealedMs).toBe(0);
});
