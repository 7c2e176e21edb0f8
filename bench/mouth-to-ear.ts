/**
 * Mouth-to-ear latency of a real call through real device backends, black-box: two clients
 * (alice, bob) call each other through a parley server on 127.0.0.1, each with the default
 * `mic` and `speaker` (PulseAudio), on a private PulseAudio daemon where each side has a pipe
 * source "mouth" (clicks written in real time, bench/device/clicks.ts) and a system-clocked
 * pipe sink "ear" (read back and timed). Both directions at once, 20 ms Opus, `--seconds` long
 * (60 by default); then the same call with a CPU-bound process on every core. Median, p95 and
 * the drift (median of the last tenth minus the first) per direction; device buffers included.
 * Writes bench/results/mouth-to-ear.json; without PulseAudio it says what to install.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createSink, createSource, leToInt16 } from '../src/audio';
import { Phone, type ActiveCall } from '../src/client/phone';
import { startServer } from '../src/server';
import { percentile, round, sleep } from './media-harness';
import { ClickDetector, MouthWriter, matchClicks } from './device/clicks';
import { INSTALL, PulseDaemon, missingPieces } from './device/pulse';

const RATE = 48000;
const WARM_UP_MS = 2000;

interface Direction {
  from: string;
  to: string;
  clicksSent: number;
  clicksHeard: number;
  medianMs: number;
  p95Ms: number;
  /** Median of the last tenth of the call minus that of the first tenth. */
  driftMs: number;
}

interface Run {
  load: 'idle' | 'loaded';
  directions: Direction[];
  /** What each receiver's call stats said at the end (jitter buffer delay, concealment). */
  stats: Record<string, { bufferDelayMs: number; concealedMs: number; insertedMs: number; removedMs: number; speakerLatencyMs?: number; speakerUnderruns?: number; micLatencyMs?: number }>;
}

const sides = ['alice', 'bob'] as const;
type Side = (typeof sides)[number];

function sideModules(side: Side, dir: string): string[] {
  return [
    `load-module module-pipe-sink sink_name=${side}_ear file=${path.join(dir, `${side}_ear.fifo`)} use_system_clock_for_timing=yes rate=48000 channels=1 format=s16le`,
    `load-module module-pipe-source source_name=${side}_mouth file=${path.join(dir, `${side}_mouth.fifo`)} rate=48000 channels=1 format=s16le`,
  ];
}

/** Times clicks as the ear sink plays them (a chunk starts when it arrives, as in device-latency). */
function listen(fifo: string): { detector: ClickDetector; stop(): void } {
  const detector = new ClickDetector();
  const ear = createReadStream(fifo, { highWaterMark: 4096 });
  let carry: Buffer | undefined;
  ear.on('data', (chunk) => {
    const now = performance.now();
    const buf = chunk as Buffer;
    const bytes = carry ? Buffer.concat([carry, buf]) : buf;
    const even = bytes.length & ~1;
    carry = even < bytes.length ? bytes.subarray(even) : undefined;
    const s = leToInt16(bytes.subarray(0, even));
    detector.feed(s, now + (s.length * 1000) / RATE);
  });
  return { detector, stop: () => ear.destroy() };
}

function burn(): ChildProcess[] {
  return cpus().map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}

async function oneCall(load: Run['load'], seconds: number): Promise<Run> {
  const pulse = await PulseDaemon.start((dir) => sides.flatMap((s) => sideModules(s, dir)));
  const server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error' });
  const burners = load === 'loaded' ? burn() : [];
  const connect = () => Phone.connect({ server: { host: '127.0.0.1', port: server.port }, udpHost: '127.0.0.1' });
  const phones = { alice: await connect(), bob: await connect() };
  const mouths = { alice: new MouthWriter(path.join(pulse.dir, 'alice_mouth.fifo')), bob: new MouthWriter(path.join(pulse.dir, 'bob_mouth.fifo')) };
  const ears = { alice: listen(path.join(pulse.dir, 'alice_ear.fifo')), bob: listen(path.join(pulse.dir, 'bob_ear.fifo')) };
  const env = (side: Side) => ({ ...pulse.env, PULSE_SINK: `${side}_ear`, PULSE_SOURCE: `${side}_mouth` });
  const devices = { alice: { input: createSource('mic', { env: env('alice') }), output: createSink('speaker', { env: env('alice') }) }, bob: { input: createSource('mic', { env: env('bob') }), output: createSink('speaker', { env: env('bob') }) } };
  try {
    await phones.alice.register('alice');
    await phones.bob.register('bob');
    mouths.alice.start();
    mouths.bob.start();
    const answered = new Promise<ActiveCall>((r) => phones.bob.once('incoming', (c) => void c.accept(devices.bob).then(r)));
    const calls = { alice: await phones.alice.call('bob', devices.alice).result, bob: await answered };
    await sleep(WARM_UP_MS);
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const t1 = performance.now();
    const stats: Run['stats'] = {};
    for (const side of sides) {
      const s = calls[side].stats();
      stats[side] = {
        bufferDelayMs: round(s.bufferDelayMs),
        concealedMs: round(s.concealedMs),
        insertedMs: round(s.insertedMs),
        removedMs: round(s.removedMs),
        speakerLatencyMs: round(s.deviceOutputMs ?? NaN),
        speakerUnderruns: s.deviceOutputUnderruns ?? NaN,
        micLatencyMs: round(s.deviceInputMs ?? NaN),
      };
    }
    await calls.alice.hangup();
    const directions = (
      [
        ['alice', 'bob'],
        ['bob', 'alice'],
      ] as const
    ).map(([from, to]) => {
      const sent = mouths[from].train.onsets.filter((t) => t >= t0 && t < t1);
      const lat = matchClicks(sent, ears[to].detector.heard.filter((t) => t >= t0 && t < t1 + 500));
      const tenth = Math.max(1, Math.floor(lat.length / 10));
      return {
        from,
        to,
        clicksSent: sent.length,
        clicksHeard: lat.length,
        medianMs: round(percentile(lat, 0.5)),
        p95Ms: round(percentile(lat, 0.95)),
        driftMs: round(percentile(lat.slice(-tenth), 0.5) - percentile(lat.slice(0, tenth), 0.5)),
      };
    });
    return { load, directions, stats };
  } finally {
    for (const b of burners) b.kill('SIGKILL');
    for (const side of sides) {
      mouths[side].stop();
      ears[side].stop();
      await phones[side].close();
    }
    await server.close();
    await pulse.stop();
  }
}

async function main(): Promise<void> {
  const missing = missingPieces();
  if (missing.length) {
    console.log(`mouth-to-ear: skipped, missing ${missing.join(', ')}`);
    console.log(`install: ${INSTALL}`);
    return;
  }
  const i = process.argv.indexOf('--seconds');
  const seconds = i > 0 ? Number(process.argv[i + 1]) : 60;
  if (!(seconds > 0)) throw new Error('--seconds wants a positive number');
  const runs = [await oneCall('idle', seconds), await oneCall('loaded', seconds)];
  console.log(`${'load'.padEnd(7)} ${'direction'.padEnd(12)} ${'median'.padStart(7)} ${'p95'.padStart(7)} ${'drift'.padStart(7)} ${'clicks'.padStart(8)}`);
  for (const r of runs) {
    for (const d of r.directions) {
      console.log(`${r.load.padEnd(7)} ${`${d.from}→${d.to}`.padEnd(12)} ${String(d.medianMs).padStart(7)} ${String(d.p95Ms).padStart(7)} ${String(d.driftMs).padStart(7)} ${`${d.clicksHeard}/${d.clicksSent}`.padStart(8)}`);
    }
    console.log(`${r.load.padEnd(7)} stats at the end: ${JSON.stringify(r.stats)}`);
  }
  const dir = path.join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const setup = { seconds, warmUpMs: WARM_UP_MS, frameMs: 20, codec: 'opus', devices: 'default mic and speaker (PulseAudio) on a private daemon: pipe source per mouth, system-clocked pipe sink per ear', loaded: `${cpus().length} CPU-bound processes` };
  writeFileSync(path.join(dir, 'mouth-to-ear.json'), JSON.stringify({ date: new Date().toISOString(), setup, runs }, null, 2) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
