import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Child } from './children';
import type { CallsResult, HoldResult, ServerKind, ServerStats } from './ipc';
import { machineBusyMicros, openFilesLimit } from './machine';
import { renderTable, type CallFigures, type MemoryFigures, type PerServer, type Target } from './report';
import { median } from './stats';

/**
 * parley's signaling server against the Socket.IO reference (socketio-server.ts), in one
 * run, with the same generator (load.ts) for both: memory per registered client, and call
 * set-ups per second with their latency. Each server and each generator runs in its own
 * process. Options: --clients N --pairs N --seconds S --warmup S --reps N
 * --memory-reps N --no-pin.
 */
const KINDS: ServerKind[] = ['parley', 'socketio'];
const pct = (x: number) => (Number.isNaN(x) ? '?' : `${Math.round(x * 100)} %`);

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i === -1 ? NaN : Number(process.argv[i + 1]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const config = {
  clients: option('clients', 10_000),
  /** Connection attempts in flight at once: under the listen backlog, so none is dropped. */
  batch: 250,
  pairs: option('pairs', 50),
  warmupMs: option('warmup', 2) * 1000,
  durationMs: option('seconds', 8) * 1000,
  reps: option('reps', 5),
  memoryReps: option('memory-reps', 3),
};

const canPin =
  !process.argv.includes('--no-pin') && os.cpus().length >= 2 && spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
const SERVER_CPU = canPin ? 0 : null;
const LOAD_CPU = canPin ? 1 : null;

async function measureMemory(kind: ServerKind, generators: number): Promise<MemoryFigures> {
  const { child: server, port } = await Child.server(kind, SERVER_CPU);
  const loads: Child[] = [];
  try {
    const before = await server.ask<ServerStats>({ type: 'stats', gc: true });
    const share = Math.ceil(config.clients / generators);
    for (let g = 0; g < generators; g++) loads.push(Child.load(LOAD_CPU));
    const held = await Promise.all(
      loads.map((l, g) =>
        l.ask<HoldResult>({
          type: 'hold',
          kind,
          port,
          first: g * share,
          count: Math.min(share, config.clients - g * share),
          batch: config.batch,
        }),
      ),
    );
    const after = await server.ask<ServerStats>({ type: 'stats', gc: true });
    const registered = held.reduce((n, h) => n + h.registered, 0);
    if (after.clients !== config.clients || registered !== config.clients) {
      throw new Error(`${kind}: ${after.clients} clients registered at the server, ${registered} at the generator; wanted ${config.clients}`);
    }
    await Promise.all(loads.map((l) => l.ask({ type: 'release' })));
    return {
      clients: after.clients,
      rssBefore: before.rss,
      rssAfter: after.rss,
      heapBefore: before.heapUsed,
      heapAfter: after.heapUsed,
      bytesPerClient: (after.rss - before.rss) / after.clients,
      connectMs: Math.max(...held.map((h) => h.ms)),
    };
  } finally {
    await Promise.all(loads.map((l) => l.stop()));
    await server.stop();
  }
}

async function measureCalls(kind: ServerKind): Promise<CallFigures> {
  const { child: server, port } = await Child.server(kind, SERVER_CPU);
  const load = Child.load(LOAD_CPU);
  try {
    const s0 = await server.ask<ServerStats>({ type: 'stats', gc: false });
    const t0 = performance.now();
    const m0 = machineBusyMicros();
    const r = await load.ask<CallsResult>({
      type: 'calls',
      kind,
      port,
      pairs: config.pairs,
      warmupMs: config.warmupMs,
      durationMs: config.durationMs,
    });
    const wallMicros = (performance.now() - t0) * 1000;
    const m1 = machineBusyMicros();
    const s1 = await server.ask<ServerStats>({ type: 'stats', gc: false });
    const serverCpu = s1.cpuMicros - s0.cpuMicros;
    const others = m0 === null || m1 === null ? NaN : Math.max(0, m1 - m0 - serverCpu - r.cpuMicros);
    return {
      setupsPerSec: r.setups / r.seconds,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      errors: r.errors,
      serverCpuPerSetupMicros: serverCpu / r.totalSetups,
      serverBusy: serverCpu / wallMicros,
      generatorBusy: r.cpuMicros / wallMicros,
      othersBusy: others / wallMicros,
    };
  } finally {
    await load.stop();
    await server.stop();
  }
}

/** The run with the median memory per client, whole, so its figures stay consistent. */
function medianRun(runs: MemoryFigures[]): MemoryFigures {
  const sorted = [...runs].sort((a, b) => a.bytesPerClient - b.bytesPerClient);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** Per figure, the median over the repetitions. */
function medianOf(runs: CallFigures[]): CallFigures {
  const pick = (k: keyof CallFigures) => median(runs.map((r) => r[k]));
  return {
    setupsPerSec: pick('setupsPerSec'),
    p50Ms: pick('p50Ms'),
    p99Ms: pick('p99Ms'),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    serverCpuPerSetupMicros: pick('serverCpuPerSetupMicros'),
    serverBusy: pick('serverBusy'),
    generatorBusy: pick('generatorBusy'),
    othersBusy: pick('othersBusy'),
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const limit = openFilesLimit();
  const spare = 256;
  if (limit < config.clients + spare) {
    throw new Error(`the server needs ${config.clients + spare} open files; ulimit -n is ${limit}: raise it (ulimit -n ${config.clients + spare})`);
  }
  const generators = Math.ceil(config.clients / (limit - spare));
  const log = (s: string) => process.stdout.write(s + '\n');
  log(`signaling: ${config.clients} clients (${generators} generator process(es), ulimit -n ${limit}); ` +
    `${config.pairs} pairs × ${config.reps} × (${config.warmupMs / 1000} s warm-up + ${config.durationMs / 1000} s)` +
    (canPin ? '; server on CPU 0, generator on CPU 1' : ''));

  // Interleaved, so a drift in the machine's speed touches both servers alike.
  const memoryRuns: PerServer<MemoryFigures[]> = { parley: [], socketio: [] };
  for (let rep = 0; rep < config.memoryReps; rep++) {
    for (const kind of KINDS) {
      const m = await measureMemory(kind, generators);
      memoryRuns[kind].push(m);
      log(`  memory ${kind} #${rep + 1}: ${(m.bytesPerClient / 1024).toFixed(1)} KiB/client (connected in ${(m.connectMs / 1000).toFixed(1)} s)`);
    }
  }
  const memory: PerServer<MemoryFigures> = { parley: medianRun(memoryRuns.parley), socketio: medianRun(memoryRuns.socketio) };

  const runs: PerServer<CallFigures[]> = { parley: [], socketio: [] };
  for (let rep = 0; rep < config.reps; rep++) {
    for (const kind of KINDS) {
      const r = await measureCalls(kind);
      runs[kind].push(r);
      log(
        `  calls ${kind} #${rep + 1}: ${r.setupsPerSec.toFixed(0)}/s p50 ${r.p50Ms.toFixed(2)} ms p99 ${r.p99Ms.toFixed(2)} ms` +
          ` (server ${pct(r.serverBusy)}, generator ${pct(r.generatorBusy)}, other processes ${pct(r.othersBusy)} of a core)`,
      );
    }
  }
  const calls: PerServer<CallFigures> = { parley: medianOf(runs.parley), socketio: medianOf(runs.socketio) };

  const memRatio = memory.parley.bytesPerClient / memory.socketio.bytesPerClient;
  const rateRatio = calls.parley.setupsPerSec / calls.socketio.setupsPerSec;
  const p99Ratio = calls.parley.p99Ms / calls.socketio.p99Ms;
  const targets: Target[] = [
    { what: 'memory per registered client', ratio: memRatio, goal: '≤ 0.50×', pass: memRatio <= 0.5 },
    { what: 'call set-ups per second', ratio: rateRatio, goal: '≥ 1.50×', pass: rateRatio >= 1.5 },
    { what: 'set-up latency p99', ratio: p99Ratio, goal: '≤ 1.00×', pass: p99Ratio <= 1 },
  ];
  log('');
  log(renderTable(memory, calls, targets, config));
  const busiest = Math.max(...KINDS.flatMap((k) => runs[k].map((r) => r.othersBusy)));
  if (busiest > 0.2) log(`note: other processes on this machine used up to ${pct(busiest)} of a core during a call run; medians damp that, not fully`);

  const out = path.resolve(__dirname, '../../../bench/results/signaling.json');
  mkdirSync(path.dirname(out), { recursive: true });
  const socketIoVersion = (require('socket.io/package.json') as { version: string }).version;
  writeFileSync(
    out,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, pinned: canPin },
        socketIoVersion,
        config,
        memory: { median: memory, runs: memoryRuns },
        calls: { median: calls, runs },
        targets,
        seconds: (Date.now() - started) / 1000,
      },
      null,
      2,
    ) + '\n',
  );
  log(`\nwritten to ${path.relative(process.cwd(), out)} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

main().catch((err: Error) => {
  process.stderr.write(`signaling bench: ${err.message}\n`);
  process.exitCode = 1;
});
