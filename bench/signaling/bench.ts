import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Child } from './children';
import type { CallsResult, HoldResult, ServerKind, ServerStats } from './ipc';
import { machineBusyMicros, openFilesLimit } from './machine';
import { ratioStats, renderTable, SERVERS, TARGET_REFERENCES, type CallFigures, type MemoryFigures, type PerServer, type RepFigures, type Target } from './report';
import { median } from './stats';

/**
 * parley's signaling server against three references in one run, with the same generator
 * (load.ts) for all: the least a Socket.IO server can do for the job (socketio-min-server.ts),
 * the one usually written (socketio-server.ts), and the least a Node server does for it on
 * parley's own transport (ndjson-min-server.ts). Each repetition,
 * for each server in turn: a fresh server process, `clients` clients registered and held
 * (memory per client), then pairs looping call → accepted → hang-up while those clients stay
 * connected (set-ups/s, latency, server CPU per set-up). Server on one core, generators on the
 * other. Ratios are parley's figure over the reference's in the same repetition; the table
 * gives their median and range.
 * Options: --clients N --pairs N --seconds S --warmup S --reps N --no-pin, --only KIND (one
 * server), --profile DIR (each server process writes a V8 CPU profile there).
 */
const ALL = SERVERS;
const only = stringOption('only');
const KINDS = only ? ALL.filter((k) => k === only) : ALL;
const profileDir = stringOption('profile');
const pct = (x: number) => (Number.isNaN(x) ? '?' : `${Math.round(x * 100)} %`);

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i === -1 ? NaN : Number(process.argv[i + 1]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

function stringOption(name: string): string | null {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? null : (process.argv[i + 1] ?? null);
}

const config = {
  clients: option('clients', 10_000),
  /** Connection attempts in flight at once: under the listen backlog, so none is dropped. */
  batch: 250,
  pairs: option('pairs', 50),
  warmupMs: option('warmup', 2) * 1000,
  durationMs: option('seconds', 8) * 1000,
  reps: option('reps', 5),
};

const canPin =
  !process.argv.includes('--no-pin') && os.cpus().length >= 2 && spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
const SERVER_CPU = canPin ? 0 : null;
const LOAD_CPU = canPin ? 1 : null;

/** One repetition for one server: memory with `clients` registered, then the call loop beside them. */
async function measure(kind: ServerKind, generators: number): Promise<RepFigures> {
  const { child: server, port } = await Child.server(kind, SERVER_CPU, profileDir && path.resolve(profileDir));
  const holders: Child[] = [];
  const load = Child.load(LOAD_CPU);
  try {
    const before = await server.ask<ServerStats>({ type: 'stats', gc: true });
    const share = Math.ceil(config.clients / generators);
    for (let g = 0; g < generators; g++) holders.push(Child.load(LOAD_CPU));
    const held = await Promise.all(
      holders.map((l, g) =>
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
    const memory: MemoryFigures = {
      clients: after.clients,
      rssBefore: before.rss,
      rssAfter: after.rss,
      heapBefore: before.heapUsed,
      heapAfter: after.heapUsed,
      bytesPerClient: (after.rss - before.rss) / after.clients,
      connectMs: Math.max(...held.map((h) => h.ms)),
    };

    await load.ask({ type: 'pairs', kind, port, pairs: config.pairs });
    const s0 = await server.ask<ServerStats>({ type: 'stats', gc: false });
    const t0 = performance.now();
    const m0 = machineBusyMicros();
    const r = await load.ask<CallsResult>({ type: 'calls', warmupMs: config.warmupMs, durationMs: config.durationMs });
    const wallMicros = (performance.now() - t0) * 1000;
    const m1 = machineBusyMicros();
    const s1 = await server.ask<ServerStats>({ type: 'stats', gc: false });
    if (s1.clients !== config.clients + 2 * config.pairs) {
      throw new Error(`${kind}: ${s1.clients} clients registered during the calls, wanted ${config.clients + 2 * config.pairs}`);
    }
    const serverCpu = s1.cpuMicros - s0.cpuMicros;
    const others = m0 === null || m1 === null ? NaN : Math.max(0, m1 - m0 - serverCpu - r.cpuMicros);
    const calls: CallFigures = {
      setupsPerSec: r.setups / r.seconds,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      errors: r.errors,
      serverCpuPerSetupMicros: serverCpu / r.totalSetups,
      serverSystemShare: (s1.systemMicros - s0.systemMicros) / serverCpu,
      serverBusy: serverCpu / wallMicros,
      generatorBusy: r.cpuMicros / wallMicros,
      othersBusy: others / wallMicros,
    };
    await Promise.all([load, ...holders].map((l) => l.ask({ type: 'release' })));
    return { memory, calls };
  } finally {
    await Promise.all([load, ...holders].map((l) => l.stop()));
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
    serverSystemShare: pick('serverSystemShare'),
    serverBusy: pick('serverBusy'),
    generatorBusy: pick('generatorBusy'),
    othersBusy: pick('othersBusy'),
  };
}

const perServer = <T>(f: (k: ServerKind) => T): PerServer<T> => Object.fromEntries(ALL.map((k) => [k, f(k)])) as PerServer<T>;

async function main(): Promise<void> {
  const started = Date.now();
  const loadBefore = os.loadavg();
  const limit = openFilesLimit();
  const spare = 256;
  const needed = config.clients + 2 * config.pairs + spare;
  if (limit < needed) {
    throw new Error(`the server needs ${needed} open files; ulimit -n is ${limit}: raise it (ulimit -n ${needed})`);
  }
  const generators = Math.ceil(config.clients / (limit - spare));
  const log = (s: string) => process.stdout.write(s + '\n');
  log(
    `signaling: ${config.clients} clients registered (${generators} holding process(es), ulimit -n ${limit}) while ` +
      `${config.pairs} pairs loop calls; ${config.reps} × (${config.warmupMs / 1000} s warm-up + ${config.durationMs / 1000} s) a server` +
      (canPin ? '; server on CPU 0, generators on CPU 1' : '; not pinned'),
  );

  const reps: PerServer<RepFigures>[] = [];
  for (let rep = 0; rep < config.reps; rep++) {
    // Interleaved, and the order turns each repetition, so a drift in the machine's speed touches all alike.
    const order = KINDS.map((_, i) => KINDS[(i + rep) % KINDS.length]);
    const figures: Partial<PerServer<RepFigures>> = {};
    for (const kind of order) {
      const f = await measure(kind, generators);
      figures[kind] = f;
      const r = f.calls;
      log(
        `  #${rep + 1} ${kind.padEnd(12)} ${(f.memory.bytesPerClient / 1024).toFixed(1)} KiB/client; ` +
          `${r.setupsPerSec.toFixed(0)} set-ups/s, ${r.serverCpuPerSetupMicros.toFixed(1)} µs CPU each, p50 ${r.p50Ms.toFixed(2)} ms p99 ${r.p99Ms.toFixed(2)} ms` +
          ` (server ${pct(r.serverBusy)}, ${pct(r.serverSystemShare)} of it in the kernel, generator ${pct(r.generatorBusy)}, others ${pct(r.othersBusy)} of a core${r.errors ? `; ${r.errors} errors` : ''})`,
      );
    }
    reps.push(figures as PerServer<RepFigures>);
  }

  if (KINDS.length < ALL.length) return;
  const memory = perServer((k) => medianRun(reps.map((r) => r[k].memory)));
  const calls = perServer((k) => medianOf(reps.map((r) => r[k].calls)));
  const ratios = ratioStats(reps);
  const targets: Target[] = TARGET_REFERENCES.flatMap((ref) => {
    const r = ratios[ref];
    return [
      { what: `server CPU per set-up vs ${ref}`, ratio: r.cpu.median, goal: '≤ 0.60×', pass: r.cpu.median <= 0.6 },
      { what: `set-up latency p99 vs ${ref}`, ratio: r.p99.median, goal: '< 1.00×', pass: r.p99.median < 1 },
      { what: `call set-ups per second vs ${ref}`, ratio: r.rate.median, goal: '≥ 1.50×', pass: r.rate.median >= 1.5 },
      { what: `memory per registered client vs ${ref}`, ratio: r.memory.median, goal: '≤ 0.50×', pass: r.memory.median <= 0.5 },
    ];
  });
  log('');
  log(renderTable(memory, calls, ratios, targets, config.reps));
  const busiest = Math.max(...reps.flatMap((r) => KINDS.map((k) => r[k].calls.othersBusy)));
  if (busiest > 0.2) log(`note: other processes on this machine used up to ${pct(busiest)} of a core during a call run; medians damp that, not fully`);

  const out = path.resolve(__dirname, '../../../bench/results/signaling.json');
  mkdirSync(path.dirname(out), { recursive: true });
  const socketIoVersion = (require('socket.io/package.json') as { version: string }).version;
  writeFileSync(
    out,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, pinned: canPin, loadavgBefore: loadBefore, loadavgAfter: os.loadavg() },
        socketIoVersion,
        config,
        median: { memory, calls },
        ratios,
        targets,
        reps,
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
