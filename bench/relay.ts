import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { coturnMissing, startCoturn, TURNSERVER, type Coturn } from '../test/helpers/coturn';
import { round } from './media-harness';
import type { ReadyWithPorts, RelayKind, RelayLoadJob, RelayServerRequest, RelayTarget, SetupResult, StepResult } from './relay/ipc';
import { Child, parleyServerEnv, realtime, renice } from './signaling/children';
import { median } from './signaling/stats';

/**
 * The TURN relay's cost: parley-server's embedded relay against coturn, same machine, same run,
 * same generator (relay/load.ts). Each relay on CPU 0 alone, the generator on CPU 1. `calls`
 * calls, each two allocations whose channels point at each other's relayed address, so every
 * packet goes client → relay → relay socket → relay → client: two relay hops, as between two
 * parties that both relay. The offered rate rises in steps; per step, over a measured window after
 * a warm-up: packets sent and delivered, loss, the relay process's CPU (/proc, all threads), CPU per
 * delivered packet, the delivered rate, and the generator's own CPU.
 * Options: --calls N --steps 5000,10000,… --seconds S --warmup S --payload BYTES
 * --relay-threads N (coturn's) --moderate PPS --only parley|coturn --no-pin --sched rr|nice|none (how
 * the relay and the generator are scheduled against the machine's other work, see config.sched),
 * --profile DIR (parley's server process writes a V8 CPU profile there).
 */

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i === -1 ? NaN : Number(process.argv[i + 1]);
  return Number.isFinite(v) && v >= 0 ? v : fallback;
}

function stringOption(name: string): string | null {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? null : (process.argv[i + 1] ?? null);
}

/** The embedded relay's default cap is 250 packets/s per allocation and direction: stay well under it. */
const PER_SIDE_PPS = 200;
const steps = (stringOption('steps') ?? '5000,10000,20000,40000,60000,80000,100000,120000,140000').split(',').map(Number).filter((x) => x > 0);
const config = {
  steps,
  calls: option('calls', 0) || Math.ceil(Math.max(...steps) / (2 * PER_SIDE_PPS)),
  warmupMs: option('warmup', 0.5) * 1000,
  windowMs: option('seconds', 3) * 1000,
  drainMs: 300,
  payloadBytes: option('payload', 120),
  relayThreads: option('relay-threads', 1),
  moderatePps: option('moderate', 10_000),
  concurrency: 20,
  /**
   * How the relay and the generator are scheduled against the machine's other work (every
   * thread): 'rr' real-time round-robin, priority 1 (the default); 'nice' at nice -10; 'none'.
   */
  sched: (stringOption('sched') ?? 'rr') as 'rr' | 'nice' | 'none',
};
const only = stringOption('only') as RelayKind | null;
const profileDir = stringOption('profile');
const KINDS: RelayKind[] = (['parley', 'coturn'] as const).filter((k) => !only || k === only);

const canPin = !process.argv.includes('--no-pin') && os.cpus().length >= 2 && spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
const RELAY_CPU = canPin ? 0 : null;
const LOAD_CPU = canPin ? 1 : null;
/** "Saturated": the relay used this much of its core, or lost this much. */
const SATURATED_CPU = 0.95;
const MAX_LOSS = 0.01;
/** Past this loss a relay is well beyond what it can do: the higher steps are not run. */
const STOP_LOSS = 0.1;

const log = (s: string) => process.stdout.write(s + '\n');

interface StepFigures extends StepResult {
  offeredPps: number;
  deliveredPps: number;
  loss: number;
  /** The relay's CPU over the window as a share of one core, and per delivered packet (µs). */
  relayBusy: number;
  cpuPerPacketMicros: number;
  /** The share of the relay's CPU spent in the kernel (system time). */
  relaySystemShare: number;
  generatorBusy: number;
  othersBusy: number;
}

interface RelayRun {
  kind: RelayKind;
  version: string;
  setup: SetupResult;
  steps: StepFigures[];
  /** The highest delivered rate with loss < 1 % and the relay under 95 % of its core; whether a step went past that. */
  maxPps: number;
  saturated: boolean;
  /** CPU per delivered packet at the step nearest `moderatePps` (µs). */
  moderate: { pps: number; cpuPerPacketMicros: number };
  /**
   * 1 s of CPU / the CPU per packet at the step that gave `maxPps`: what a whole core would relay at
   * that cost, whatever the machine's other work took from it (a figure to set beside `maxPps`).
   */
  cpuBoundPps: number;
  /** The relay's CPU with its allocations open and nothing sent, as a share of a core. */
  idleBusy: number;
  relayCounters?: unknown;
  notes: string[];
}

function figures(r: StepResult): StepFigures {
  const wall = r.seconds * 1e6;
  const relay = r.relayCpuMicros ?? NaN;
  const others = r.machineCpuMicros === null ? NaN : Math.max(0, r.machineCpuMicros - relay - r.generatorCpuMicros);
  return {
    ...r,
    offeredPps: r.sent / r.seconds,
    deliveredPps: r.received / r.seconds,
    loss: r.sent ? Math.max(0, 1 - r.received / r.sent) : 0,
    relayBusy: relay / wall,
    cpuPerPacketMicros: relay / r.received,
    relaySystemShare: (r.relaySystemMicros ?? NaN) / relay,
    generatorBusy: r.generatorCpuMicros / wall,
    othersBusy: others / wall,
  };
}

function drops(r: StepResult): string {
  const d = r.bufferDrops;
  if (!d || (!d.relay && !d.generator)) return '';
  return `; full receive buffers dropped ${d.relay} at the relay, ${d.generator} at the generator`;
}

const ok = (s: StepFigures) => s.loss < MAX_LOSS && !(s.relayBusy >= SATURATED_CPU);

async function startRelay(kind: RelayKind): Promise<{ target: RelayTarget; stop: () => Promise<void>; counters?: () => Promise<unknown>; version: string }> {
  if (kind === 'parley') {
    const { child, ready } = await Child.start<RelayServerRequest, ReadyWithPorts>(path.join(__dirname, 'relay', 'server-child.js'), [], {
      label: 'parley server',
      cpu: RELAY_CPU,
      env: parleyServerEnv(),
      execArgv: profileDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(profileDir), '--cpu-prof-name', `relay-parley-${Date.now()}.cpuprofile`] : [],
    });
    const version = (JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;
    return {
      target: { kind, signalingPort: ready!.port, pid: child.pid },
      stop: () => child.stop(),
      counters: () => child.ask({ type: 'counters' }),
      version: `parley ${version}, Node ${process.version}`,
    };
  }
  const coturn: Coturn = await startCoturn({
    prefix: RELAY_CPU === null ? [] : ['taskset', '-c', String(RELAY_CPU)],
    // Below the ephemeral range, so no generator socket takes a relay port; two per call and some.
    minPort: 20000,
    maxPort: 20000 + 2 * config.calls + 100,
    extraArgs: [`--relay-threads=${config.relayThreads}`],
  });
  const version = spawnSync(TURNSERVER, ['--version'], { encoding: 'utf8' }).stdout.trim().split('\n').pop() ?? '?';
  return {
    target: { kind, host: coturn.host, port: coturn.port, secret: coturn.secret, pid: coturn.process.pid! },
    stop: () => coturn.stop(),
    version: `coturn ${version}, --relay-threads=${config.relayThreads}`,
  };
}

async function measure(kind: RelayKind): Promise<RelayRun> {
  const relay = await startRelay(kind);
  const { child: load } = await Child.start<RelayLoadJob>(path.join(__dirname, 'relay', 'load.js'), [], { label: 'relay load generator', cpu: LOAD_CPU, ready: false });
  const notes: string[] = [];
  const raise = config.sched === 'rr' ? (pid: number) => realtime(pid, 1) : config.sched === 'nice' ? (pid: number) => renice(pid, -10) : () => true;
  if (![relay.target.pid, load.pid].map(raise).every(Boolean)) notes.push(`could not raise the scheduling of the relay and the generator (${config.sched}): not root?`);
  try {
    const setup = await load.ask<SetupResult>({ type: 'setup', target: relay.target, calls: config.calls, payloadBytes: config.payloadBytes, concurrency: config.concurrency });
    log(`${kind} (${relay.version}): ${setup.allocations} allocations in ${setup.calls} calls set up in ${(setup.ms / 1000).toFixed(1)} s; ${setup.frameBytes}-byte ChannelData frames`);
    const idle = figures(await load.ask<StepResult>({ type: 'step', pps: 0, warmupMs: 0, windowMs: config.windowMs, drainMs: 0 }));
    log(`  idle: relay ${pct(idle.relayBusy)} of a core with ${setup.allocations} allocations open`);
    const steps: StepFigures[] = [];
    for (const pps of config.steps) {
      const r = figures(await load.ask<StepResult>({ type: 'step', pps, warmupMs: config.warmupMs, windowMs: config.windowMs, drainMs: config.drainMs }));
      steps.push(r);
      log(
        `  ${String(pps).padStart(6)}/s offered ${r.offeredPps.toFixed(0).padStart(6)}/s delivered ${r.deliveredPps.toFixed(0).padStart(6)}/s` +
          ` loss ${(r.loss * 100).toFixed(2).padStart(6)} %  relay ${pct(r.relayBusy)} of a core (${pct(r.relaySystemShare)} in the kernel), ${r.cpuPerPacketMicros.toFixed(2)} µs/packet;` +
          ` generator ${pct(r.generatorBusy)}, others ${pct(r.othersBusy)}${drops(r)}${r.sendErrors ? `, ${r.sendErrors} send errors` : ''}${r.drained ? `, ${r.drained} after the window` : ''}`,
      );
      if (r.offeredPps < 0.98 * pps) notes.push(`at ${pps}/s the generator offered only ${r.offeredPps.toFixed(0)}/s`);
      if (r.loss >= STOP_LOSS) {
        const skipped = config.steps.filter((x) => x > pps);
        if (skipped.length) log(`  ${(r.loss * 100).toFixed(0)} % lost: past what it can do, ${skipped.join(', ')} not run`);
        break;
      }
    }
    const good = steps.filter(ok);
    const best = good.length ? good.reduce((a, b) => (b.deliveredPps > a.deliveredPps ? b : a)) : null;
    const saturated = steps.some((s) => !ok(s));
    const nearest = [...steps].sort((a, b) => Math.abs(a.targetPps - config.moderatePps) - Math.abs(b.targetPps - config.moderatePps))[0];
    const counters = relay.counters ? await relay.counters() : undefined;
    await load.ask({ type: 'release' });
    return {
      kind,
      version: relay.version,
      setup,
      steps,
      maxPps: best?.deliveredPps ?? 0,
      saturated,
      cpuBoundPps: best ? 1e6 / best.cpuPerPacketMicros : NaN,
      idleBusy: idle.relayBusy,
      moderate: { pps: nearest.targetPps, cpuPerPacketMicros: nearest.cpuPerPacketMicros },
      relayCounters: counters,
      notes,
    };
  } finally {
    await load.stop();
    await relay.stop();
  }
}

const pct = (x: number) => (Number.isNaN(x) ? '?' : `${Math.round(x * 100)} %`);

function table(runs: RelayRun[]): string {
  const rows = [
    '| relay | offered/s | delivered/s | loss | relay CPU (of a core) | in the kernel | µs CPU per packet | generator CPU | others |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of runs) {
    for (const s of r.steps) {
      rows.push(
        `| ${r.kind} | ${s.offeredPps.toFixed(0)} | ${s.deliveredPps.toFixed(0)} | ${(s.loss * 100).toFixed(2)} % | ${pct(s.relayBusy)} | ${pct(s.relaySystemShare)} | ${round(s.cpuPerPacketMicros, 2)} | ${pct(s.generatorBusy)} | ${pct(s.othersBusy)} |`,
      );
    }
  }
  return rows.join('\n');
}

function summary(runs: RelayRun[]): string[] {
  const lines = runs.map(
    (r) =>
      `${r.kind}: ${round(r.moderate.cpuPerPacketMicros, 2)} µs CPU per delivered packet at ${r.moderate.pps}/s; ` +
      `${r.saturated ? '' : '≥ '}${r.maxPps.toFixed(0)} packets/s on one core with loss < 1 %${r.saturated ? '' : ' (not saturated by the highest step)'}` +
      ` (${round(1e6 / r.cpuBoundPps, 2)} µs each there: ${r.cpuBoundPps.toFixed(0)}/s for a whole core); idle ${pct(r.idleBusy)} of a core`,
  );
  const [p, c] = [runs.find((r) => r.kind === 'parley'), runs.find((r) => r.kind === 'coturn')];
  if (p && c) {
    lines.push(
      `parley / coturn: CPU per packet ${(p.moderate.cpuPerPacketMicros / c.moderate.cpuPerPacketMicros).toFixed(2)}×, ` +
        `packets/s on one core ${(p.maxPps / c.maxPps).toFixed(2)}×${c.saturated ? '' : ' (coturn not saturated: a bound, not a ratio)'}, ` +
        `from the CPU per packet there ${(p.cpuBoundPps / c.cpuBoundPps).toFixed(2)}×`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadBefore = os.loadavg();
  log(
    `relay: ${config.calls} calls (${2 * config.calls} allocations, two relay hops a packet), ${config.payloadBytes}-byte payloads; ` +
      `steps ${config.steps.join(', ')} packets/s (≤ ${Math.round(Math.max(...config.steps) / (2 * config.calls))}/s per allocation), ` +
      `${config.warmupMs / 1000} s warm-up + ${config.windowMs / 1000} s each` +
      (canPin ? '; relay on CPU 0, generator on CPU 1' : '; not pinned'),
  );
  const runs: RelayRun[] = [];
  for (const kind of KINDS) {
    if (kind === 'coturn') {
      const missing = coturnMissing();
      if (missing) {
        log(`coturn skipped: ${missing.replace(/: the coturn tests are skipped$/, '')}`);
        continue;
      }
    }
    runs.push(await measure(kind));
  }
  log('');
  log(table(runs));
  log('');
  for (const line of summary(runs)) log(line);
  for (const r of runs) for (const n of r.notes) log(`note (${r.kind}): ${n}`);
  const busiestGenerator = Math.max(...runs.flatMap((r) => r.steps.map((s) => s.generatorBusy)));
  log(`the generator used at most ${pct(busiestGenerator)} of its core${busiestGenerator > 0.9 ? ': it may have been the limit at the top steps' : ''}`);
  const others = median(runs.flatMap((r) => r.steps.map((s) => s.othersBusy)));
  if (others > 0.1) log(`note: other processes used ${pct(others)} of a core (median over the steps)`);

  const out = path.resolve(__dirname, '../../bench/results/relay.json');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, pinned: canPin, loadavgBefore: loadBefore, loadavgAfter: os.loadavg() },
        config,
        summary: summary(runs),
        runs,
        seconds: (Date.now() - started) / 1000,
      },
      null,
      2,
    ) + '\n',
  );
  log(`\nwritten to ${path.relative(process.cwd(), out)} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

main().catch((err: Error) => {
  process.stderr.write(`relay bench: ${err.message}\n`);
  process.exitCode = 1;
});
