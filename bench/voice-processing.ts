/**
 * The voice engines side by side, on the lab's seeded scenes (test/helpers/voice-lab.ts), each
 * stage alone unless said otherwise: echo cancellation (ERLE per delay and echo attenuation
 * after 2 s of convergence, the near talker's loss in double talk, the time to cancel again
 * after an unreported delay step), noise suppression (the floor's drop in pauses and the
 * speech's change, a fan at 5 dB SNR; VAD accuracy there), gain control (where a whisper and a
 * shout land), CPU per 10 ms frame (median of runs) for all stages and each alone, and the
 * memory an instance adds. Every engine in the registry that loads here; a stage an engine
 * refuses is skipped. Writes bench/results/voice-processing.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { EngineName, EngineOptions, VoiceEngine } from '../src/audio/processing/engine';
import { ENGINE_FACTORIES } from '../src/audio/processing/engines';
import { PauseGate } from '../src/audio/processing/pause-gate';
import { openVoice } from '../src/client/call-voice';
import {
  componentGainDb,
  echoScene,
  erleDb,
  landingDbfs,
  noiseFigures,
  noiseScene,
  reconvergenceMs,
  runEngine,
  runProcessor,
  SHOUT_DBFS,
  vadAccuracy,
  WHISPER_DBFS,
  windowsOf,
} from '../test/helpers/voice-lab';
import { median } from './signaling/stats';

const CONVERGE_MS = 2000;
const AGC_TARGET_DBFS = -20;
const RECONVERGE_DB = 10;
const CPU_RUNS = 7;
const RSS_INSTANCES = 50;
const NONE = { aec: false, ns: false, agc: false };
const round = (x: number | null, digits = 1) => (x === null || !Number.isFinite(x) ? null : Number(x.toFixed(digits)));

async function make(name: EngineName, stages: Partial<EngineOptions>): Promise<VoiceEngine | string> {
  const r = await ENGINE_FACTORIES[name]!({ ...NONE, agcTargetDbfs: AGC_TARGET_DBFS, ...stages });
  return 'unavailable' in r ? r.unavailable : r;
}

const told = new Set<string>();

/** Runs `body` on a fresh engine with those stages; null (and why, printed once) when refused. */
async function withEngine<T>(name: EngineName, stages: Partial<EngineOptions>, body: (e: VoiceEngine) => T): Promise<T | null> {
  const e = await make(name, stages);
  if (typeof e === 'string') {
    const what = `${name} ${Object.keys(stages).join('+')}`;
    if (!told.has(what)) console.log(`  ${Object.keys(stages).join('+')}: skipped (${e})`);
    told.add(what);
    return null;
  }
  try {
    return body(e);
  } finally {
    e.close();
  }
}

async function echo(name: EngineName) {
  const erle: { delayMs: number; attenuationDb: number; erleDb: number | null }[] = [];
  for (const attenuationDb of [6, 20]) {
    for (const delayMs of [40, 80, 120]) {
      const s = echoScene({ seed: 21, ms: 8000, delayMs, attenuationDb });
      const r = await withEngine(name, { aec: true }, (e) => {
        const { out } = runEngine(e, s.far, s.mic, { delayMs });
        return erleDb(s.mic, out, windowsOf(s.segments, 'far-only', CONVERGE_MS));
      });
      if (r === null) return null;
      erle.push({ delayMs, attenuationDb, erleDb: round(r) });
    }
  }
  const dt = echoScene({ seed: 22, ms: 10_000, delayMs: 80, attenuationDb: 12, nearSegments: [[5000, 8000]], farSegments: [[0, 9000]] });
  const doubleTalk = await withEngine(name, { aec: true }, (e) => {
    const { out } = runEngine(e, dt.far, dt.mic, { delayMs: 80 });
    return {
      lossDb: round(-componentGainDb(out, dt.near, windowsOf(dt.segments, 'double-talk'))),
      nearOnlyLossDb: round(-componentGainDb(out, dt.near, windowsOf(dt.segments, 'near-only'))),
      // Whether double talk upset the canceller: ERLE in the far end's talk before and after it.
      erleBeforeDb: round(erleDb(dt.mic, out, [[CONVERGE_MS, 5000]])),
      erleAfterDb: round(erleDb(dt.mic, out, [[8000, 9000]])),
    };
  });
  // The devices keep reporting 80 ms while the path becomes 120 ms.
  const step = echoScene({ seed: 23, ms: 12_000, delayMs: [{ atMs: 0, delayMs: 80 }, { atMs: 5000, delayMs: 120 }], attenuationDb: 12 });
  const reconverge = await withEngine(name, { aec: true }, (e) => {
    const { out } = runEngine(e, step.far, step.mic, { delayMs: 80 });
    return {
      beforeDb: round(erleDb(step.mic, out, [[CONVERGE_MS, 5000]])),
      afterDb: round(erleDb(step.mic, out, [[9000, 12_000]])),
      thresholdDb: RECONVERGE_DB,
      ms: reconvergenceMs(step.mic, out, 5000, RECONVERGE_DB),
    };
  });
  return { erle, doubleTalk, reconverge };
}

async function noise(name: EngineName) {
  const s = noiseScene({ seed: 31, ms: 12_000, snrDb: 5 });
  return withEngine(name, { ns: true }, (e) => {
    const { out, vad } = runEngine(e, new Int16Array(0), s.mixed);
    const f = noiseFigures(s, out, CONVERGE_MS);
    const accuracy = vadAccuracy(vad, s.labels, CONVERGE_MS);
    return { floorDropDb: round(f.floorDropDb), speechChangeDb: round(f.speechChangeDb), levelChangeDb: round(f.levelChangeDb), vadAccuracy: round(accuracy, 3) };
  });
}

/** Seeds of the noise scene the call's pipeline is measured on: the bench's own first, the pipeline test's second. */
const PIPELINE_SEEDS = [31, 3, 1, 5, 11];

/**
 * Noise suppression as a call runs it (src/client/call-voice.ts: the engine chosen for `ns`, then
 * the pause gate), 20 ms at a time, on several scenes; and the gate's own CPU per 20 ms frame.
 */
async function pipelineNoise() {
  const scenes = [];
  for (const seed of PIPELINE_SEEDS) {
    const s = noiseScene({ seed, ms: 12_000, snrDb: 5 });
    const opened = await openVoice({ aec: false, ns: true, agc: false, dtx: false }, { source: {}, sink: {} });
    if (!opened.processor) return null;
    const out = runProcessor(opened.processor, new Int16Array(0), s.mixed);
    const f = noiseFigures(s, out, CONVERGE_MS);
    scenes.push({ seed, engine: opened.running.ns, floorDropDb: round(f.floorDropDb), speechChangeDb: round(f.speechChangeDb) });
  }
  const frames = noiseScene({ seed: 61, ms: 2000, snrDb: 10 }).mixed;
  const gateUs: number[] = [];
  for (let run = 0; run < CPU_RUNS; run++) {
    const gate = new PauseGate();
    const copy = Int16Array.from(frames);
    const t0 = process.hrtime.bigint();
    for (let rep = 0; rep < 20; rep++) for (let at = 0; at + 960 <= copy.length; at += 960) gate.process(copy.subarray(at, at + 960));
    gateUs.push(Number(process.hrtime.bigint() - t0) / 1000 / (20 * Math.floor(copy.length / 960)));
  }
  return { scenes, gateUsPer20ms: round(median(gateUs), 2) };
}

async function gain(name: EngineName) {
  const landing: { inputDbfs: number; measuredInDbfs: number; landedDbfs: number | null }[] = [];
  for (const inputDbfs of [WHISPER_DBFS, SHOUT_DBFS]) {
    const s = noiseScene({ seed: 41, ms: 15_000, snrDb: 30, speechDbfs: inputDbfs });
    const r = await withEngine(name, { agc: true }, (e) => landingDbfs(s, runEngine(e, new Int16Array(0), s.mixed).out, 7000));
    if (r === null) return null;
    // The input over the same spurts (the loud one clips): what the gain started from.
    landing.push({ inputDbfs, measuredInDbfs: round(landingDbfs(s, s.mixed, 7000))!, landedDbfs: round(r) });
  }
  return { targetDbfs: AGC_TARGET_DBFS, landing };
}

async function cpu(name: EngineName) {
  const s = echoScene({ seed: 51, ms: 10_000, delayMs: 80, attenuationDb: 12, nearSegments: [[3000, 6000]], noiseDbfs: -50 });
  const frames = s.mic.length / 480;
  const configs: Record<string, Partial<EngineOptions>> = {
    'aec+ns+agc': { aec: true, ns: true, agc: true },
    aec: { aec: true },
    ns: { ns: true },
    agc: { agc: true },
  };
  const out: Record<string, number | null> = {};
  for (const [label, stages] of Object.entries(configs)) {
    out[label] = await withEngine(name, stages, (e) => {
      runEngine(e, s.far, s.mic, { delayMs: 80 });
      const runs: number[] = [];
      for (let r = 0; r < CPU_RUNS; r++) {
        const t = process.cpuUsage();
        runEngine(e, s.far, s.mic, { delayMs: 80 });
        const d = process.cpuUsage(t);
        runs.push((d.user + d.system) / frames);
      }
      return round(median(runs), 2);
    });
  }
  return out;
}

/**
 * RSS an instance adds: many instances, each having run a second, over how many. Measured in a
 * process of its own: after other engines have come and gone, malloc reuses what they freed.
 */
async function memoryHere(name: EngineName): Promise<{ stages: string; kib: number } | null> {
  const scene = noiseScene({ seed: 61, ms: 1000, snrDb: 10 });
  for (const stages of [{ aec: true, ns: true, agc: true }, { ns: true }]) {
    const first = await make(name, stages);
    if (typeof first === 'string') continue;
    runEngine(first, scene.clean, scene.mixed, { delayMs: 40 });
    global.gc?.();
    const before = process.memoryUsage().rss;
    const engines: VoiceEngine[] = [first];
    for (let i = 1; i <= RSS_INSTANCES; i++) {
      const e = (await make(name, stages)) as VoiceEngine;
      runEngine(e, scene.clean, scene.mixed, { delayMs: 40 });
      engines.push(e);
    }
    global.gc?.();
    const kib = (process.memoryUsage().rss - before) / RSS_INSTANCES / 1024;
    for (const e of engines) e.close();
    return { stages: Object.keys(stages).join('+'), kib: Math.round(kib) };
  }
  return null;
}

const MEMORY_OF = '--memory-of';

function memory(name: EngineName): { stages: string; kib: number } | null {
  const r = spawnSync(process.execPath, ['--expose-gc', process.argv[1], MEMORY_OF, name], { encoding: 'utf8' });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as { stages: string; kib: number } | null;
  } catch {
    console.log(`  memory: the child failed (${r.stderr.trim() || r.status})`);
    return null;
  }
}

async function main(): Promise<void> {
  const of = process.argv.indexOf(MEMORY_OF);
  if (of !== -1) {
    console.log(JSON.stringify(await memoryHere(process.argv[of + 1] as EngineName)));
    return;
  }
  const results: Record<string, unknown>[] = [];
  for (const name of Object.keys(ENGINE_FACTORIES) as EngineName[]) {
    console.log(`${name}:`);
    // Available when it makes any one stage.
    let unavailable = '';
    for (const stage of ['ns', 'aec', 'agc']) {
      const e = await make(name, { [stage]: true });
      if (typeof e === 'string') unavailable ||= e;
      else {
        e.close();
        unavailable = '';
        break;
      }
    }
    if (unavailable) {
      console.log(`  unavailable: ${unavailable}`);
      results.push({ engine: name, unavailable });
      continue;
    }
    const r = { engine: name, echo: await echo(name), noise: await noise(name), gain: await gain(name), cpuUsPerFrame: await cpu(name), memory: memory(name) };
    if (r.echo) {
      for (const e of r.echo.erle) console.log(`  ERLE ${e.delayMs} ms, echo −${e.attenuationDb} dB: ${e.erleDb} dB`);
      const d = r.echo.doubleTalk;
      console.log(`  double talk: near loss ${d?.lossDb} dB (near only ${d?.nearOnlyLossDb} dB), ERLE before ${d?.erleBeforeDb} dB, after ${d?.erleAfterDb} dB`);
      const c = r.echo.reconverge;
      console.log(`  delay step 80→120 ms: ERLE ${c?.beforeDb} → ${c?.afterDb} dB, ≥ ${RECONVERGE_DB} dB again after ${c?.ms ?? 'never'} ms`);
    }
    if (r.noise) {
      const n = r.noise;
      console.log(`  NS at 5 dB SNR: floor −${n.floorDropDb} dB, speech ${n.speechChangeDb} dB (level ${n.levelChangeDb} dB), VAD accuracy ${n.vadAccuracy}`);
    }
    if (r.gain) for (const l of r.gain.landing) console.log(`  AGC ${l.inputDbfs} dBFS (${l.measuredInDbfs} in) → ${l.landedDbfs} dBFS (target ${AGC_TARGET_DBFS})`);
    console.log(`  CPU µs per 10 ms frame: ${Object.entries(r.cpuUsPerFrame).map(([k, v]) => `${k} ${v ?? '–'}`).join(', ')}`);
    if (r.memory) console.log(`  RSS per instance (${r.memory.stages}): ${r.memory.kib} KiB`);
    results.push(r);
  }
  const pipeline = await pipelineNoise();
  console.log('the call\'s noise suppression (engine, then the pause gate), fan at 5 dB SNR:');
  if (!pipeline) console.log('  unavailable: no engine for noise suppression');
  else {
    for (const s of pipeline.scenes) console.log(`  seed ${s.seed} (${s.engine}): floor −${s.floorDropDb} dB, speech ${s.speechChangeDb} dB`);
    console.log(`  pause gate: ${pipeline.gateUsPer20ms} µs per 20 ms frame`);
  }
  const dir = path.join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'voice-processing.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, results, pipeline }, null, 2) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
