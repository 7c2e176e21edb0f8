/**
 * The echo cancellers within reach, on the echo targets' scenes (test/helpers/voice-lab.ts):
 * WebRTC's canceller as calls run it (webrtc-apm: Debian 12's libwebrtc-audio-processing, the
 * AEC2 generation), speexdsp's, and WebRTC's AEC3 (through LiveKit's library, when bench/ has
 * it). Per canceller: ERLE after 2 s at 40/80/120 ms and 6/20 dB; the near talker's loss in
 * double talk over several talker pairs (the target is ≤ 3 dB on each); ERLE again after the
 * echo's delay jumps 80 → 120 ms unreported; CPU per 10 ms frame. Only the canceller runs.
 * Writes bench/results/echo-cancellers.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { VoiceEngine } from '../src/audio/processing/engine';
import { ENGINE_FACTORIES } from '../src/audio/processing/engines';
import { componentGainDb, echoScene, erleDb, reconvergenceMs, runEngine, windowsOf } from '../test/helpers/voice-lab';
import { createAec3 } from './aec3-livekit';
import { median } from './signaling/stats';

const CONVERGE_MS = 2000;
/** Talker pairs for double talk: the voice-processing bench's first, then others. */
const DOUBLE_TALK_SEEDS = [22, 3, 7, 11, 13];
const CPU_RUNS = 5;
const round = (x: number | null) => (x === null || !Number.isFinite(x) ? null : Number(x.toFixed(1)));

type Canceller = Pick<VoiceEngine, 'playback' | 'capture' | 'close'>;

const CANCELLERS: { name: string; make: () => Promise<Canceller | string> }[] = [
  ...(['webrtc-apm', 'speexdsp'] as const).map((name) => ({
    name,
    make: async () => {
      const r = await ENGINE_FACTORIES[name]!({ aec: true, ns: false, agc: false });
      return 'unavailable' in r ? r.unavailable : r;
    },
  })),
  { name: 'webrtc-aec3 (LiveKit)', make: async () => createAec3() },
];

/** A fresh canceller; its absence was checked before measuring. */
async function fresh(make: () => Promise<Canceller | string>): Promise<Canceller> {
  const c = await make();
  if (typeof c === 'string') throw new Error(c);
  return c;
}

/** Runs a scene through a fresh canceller, `delayMs` reported as the echo's delay. */
async function through(make: () => Promise<Canceller | string>, far: Int16Array, mic: Int16Array, delayMs: number): Promise<Int16Array> {
  const c = await fresh(make);
  try {
    return runEngine(c, far, mic, { delayMs }).out;
  } finally {
    c.close();
  }
}

async function measure(make: () => Promise<Canceller | string>) {
  const erle: { delayMs: number; attenuationDb: number; erleDb: number | null }[] = [];
  for (const attenuationDb of [6, 20]) {
    for (const delayMs of [40, 80, 120]) {
      const s = echoScene({ seed: 21, ms: 8000, delayMs, attenuationDb });
      const out = await through(make, s.far, s.mic, delayMs);
      erle.push({ delayMs, attenuationDb, erleDb: round(erleDb(s.mic, out, windowsOf(s.segments, 'far-only', CONVERGE_MS))) });
    }
  }
  const doubleTalk: { seed: number; lossDb: number | null }[] = [];
  for (const seed of DOUBLE_TALK_SEEDS) {
    const s = echoScene({ seed, ms: 10_000, delayMs: 80, attenuationDb: 12, nearSegments: [[5000, 8000]], farSegments: [[0, 9000]] });
    const out = await through(make, s.far, s.mic, 80);
    doubleTalk.push({ seed, lossDb: round(-componentGainDb(out, s.near, windowsOf(s.segments, 'double-talk'))) });
  }
  // The devices keep reporting 80 ms while the path becomes 120 ms.
  const step = echoScene({ seed: 23, ms: 12_000, delayMs: [{ atMs: 0, delayMs: 80 }, { atMs: 5000, delayMs: 120 }], attenuationDb: 12 });
  const stepped = await through(make, step.far, step.mic, 80);
  const reconverge = {
    beforeDb: round(erleDb(step.mic, stepped, [[CONVERGE_MS, 5000]])),
    afterDb: round(erleDb(step.mic, stepped, [[7000, 12_000]])),
    msTo25Db: reconvergenceMs(step.mic, stepped, 5000, 25),
  };
  const cpu: number[] = [];
  const s = echoScene({ seed: 24, ms: 4000, delayMs: 60, attenuationDb: 12, nearSegments: [[1000, 3000]] });
  for (let run = 0; run < CPU_RUNS; run++) {
    const c = await fresh(make);
    const t0 = process.cpuUsage();
    runEngine(c, s.far, s.mic, { delayMs: 60 });
    const used = process.cpuUsage(t0);
    c.close();
    cpu.push((used.user + used.system) / (s.mic.length / 480));
  }
  return { erle, doubleTalk, reconverge, cpuUsPer10ms: round(median(cpu)) };
}

async function main(): Promise<void> {
  const results: Record<string, unknown>[] = [];
  for (const c of CANCELLERS) {
    console.log(`${c.name}:`);
    const probe = await c.make();
    if (typeof probe === 'string') {
      console.log(`  unavailable: ${probe}`);
      results.push({ canceller: c.name, unavailable: probe });
      continue;
    }
    probe.close();
    const r = await measure(c.make);
    console.log(`  ERLE after 2 s, 6 dB down: ${r.erle.filter((e) => e.attenuationDb === 6).map((e) => `${e.delayMs} ms ${e.erleDb}`).join(', ')} dB`);
    console.log(`  ERLE after 2 s, 20 dB down: ${r.erle.filter((e) => e.attenuationDb === 20).map((e) => `${e.delayMs} ms ${e.erleDb}`).join(', ')} dB`);
    const losses = r.doubleTalk.map((d) => d.lossDb ?? NaN);
    console.log(`  near talker's loss in double talk (seeds ${DOUBLE_TALK_SEEDS.join(', ')}): ${losses.join(' / ')} dB; ≤ 3 dB on ${losses.filter((l) => l <= 3).length} of ${losses.length}`);
    console.log(`  delay step 80 → 120 ms: ERLE ${r.reconverge.beforeDb} → ${r.reconverge.afterDb} dB, ≥ 25 dB again after ${r.reconverge.msTo25Db ?? 'never'} ms`);
    console.log(`  CPU: ${r.cpuUsPer10ms} µs per 10 ms frame`);
    results.push({ canceller: c.name, ...r });
  }
  const dir = path.join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'echo-cancellers.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2) + '\n');
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  // LiveKit's library keeps threads that would hold the process open.
  .finally(() => process.exit());
