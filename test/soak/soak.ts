import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { delay } from '../helpers/wait';

const serverLauncherEnv = require('../../bin/launcher-env') as () => NodeJS.ProcessEnv;

/**
 * The soak: a server in its own process holding thousands of registered clients (held by child
 * processes, from many loopback source addresses), legitimate clients pinging and calling all
 * the while, and one attacker process per hostile-client finding running at once. It measures
 * what the legitimate clients see and what the server's memory does, and what each attacker got.
 */

export interface SoakConfig {
  name: string;
  /** Registered idle clients, held by `holders` processes, `perAddress` per source address. */
  clients: number;
  holders: number;
  perAddress: number;
  /** Busy legitimate clients: pingers (one ping each every `pingEveryMs`) and calling pairs. */
  pingers: number;
  pingEveryMs: number;
  pairs: number;
  settleMs: number;
  /** After the settle, how long the server's RSS is given to come back within 20 % of before. */
  returnMs: number;
  baselineMs: number;
  attackMs: number;
  /** The attackers to run (all of ATTACKS for the soak; fewer to look into one). */
  attacks: readonly Attack[];
  /** Options for the server (limits); its defaults otherwise. */
  server: Record<string, unknown>;
  /**
   * The open-file limit the server and the other child processes are started with: the server's
   * connections are capped below it, so it must exceed every connection the soak makes.
   */
  fdLimit: number;
}

export const ATTACKS = ['nested', 'list', 'relay', 'ring', 'oversize', 'badreq', 'anonping', 'connflood', 'drip', 'garbage'] as const;
export type Attack = (typeof ATTACKS)[number];

export interface AttackOutcome {
  kind: Attack;
  connections: number;
  connectErrors: number;
  codes: Record<string, number>;
  cutOff: number;
  /** Connections the server reset (it resets a closing connection that goes on sending). */
  resets: number;
  extra: Record<string, number>;
  ranMs: number;
}

interface HolderCheck {
  clients: number;
  pong: number;
  registered: number;
  failures: Record<string, number>;
  dropped: number;
  unexpected: Record<string, number>;
}

interface LegitReport {
  pings: [number, number][];
  pingTimeouts: number;
  calls: { completed: number; setupMs: [number, number][]; refused: Record<string, number>; failed: Record<string, number> };
  ringVictim: { incoming: Record<string, number>; declined: number; errors: Record<string, number> };
  ordinaryCaller: { outcomes: Record<string, number> };
  relayVictim: { accepted: number; candidates: number; candidateBytes: number; errors: Record<string, number> };
  dropped: string[];
}

export interface PingFigures {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export interface SoakFigures {
  config: SoakConfig;
  at: string;
  machine: { cpus: number; loadBefore: string };
  connectMs: number;
  ping: { before: PingFigures; during: PingFigures; after: PingFigures; timeouts: number };
  calls: { before: number; during: number; after: number; refused: Record<string, number>; failed: Record<string, number>; setupP99During: number };
  legit: { expected: number; registeredBefore: number; registeredAfter: number; dropped: number; droppedNames: string[]; holderCheck: HolderCheck };
  /** `settled`: after the settle; `after`: once back within 20 % (or at the end of the wait), `returnedMs` after the attack. */
  rss: { before: number; peak: number; settled: number; after: number; returnedMs: number | null };
  /** process.memoryUsage() of the server (after full collections) before the attack and after it. */
  memory: { before: Record<string, number>; after: Record<string, number> };
  /** The server's CPU use during the attack (100 = one core), and the whole machine's (100 = all cores busy). */
  cpu: { serverPctDuring: number; machineBusyPctDuring: number };
  attackers: Record<string, AttackOutcome>;
  ringVictim: LegitReport['ringVictim'] & { ordinaryCaller: Record<string, number> };
  relayVictim: LegitReport['relayVictim'];
  serverWarnings: number;
  serverAlive: boolean;
}

const SOAK_DIR = __dirname;
const MiB = 2 ** 20;

/** Throws, saying what to do, if a child cannot be given `n` open files. */
export function checkFdLimit(n: number): void {
  try {
    execFileSync('/bin/sh', ['-c', `ulimit -n ${n}`], { stdio: 'pipe' });
  } catch (err) {
    const why = String((err as { stderr?: Buffer }).stderr ?? err).trim();
    throw new Error(
      `the soak needs child processes with ${n} open files, and "ulimit -n ${n}" fails here (${why}); ` +
        `raise the hard limit (ulimit -Hn, /etc/security/limits.conf, or run as root)`,
    );
  }
}

/** A child script of this folder with its open-file limit raised; resolves once it says it is ready. */
class Child {
  stderr = '';
  private constructor(readonly proc: ChildProcess) {}

  static spawn(script: string, arg: unknown, fdLimit: number, nodeArgs: string[] = [], env = process.env): Child {
    const args = [...nodeArgs, path.join(SOAK_DIR, script), JSON.stringify(arg)];
    const proc = spawn('/bin/sh', ['-c', `ulimit -n ${fdLimit} && exec "$0" "$@"`, process.execPath, ...args], {
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      env,
    });
    const c = new Child(proc);
    proc.stderr!.on('data', (d) => (c.stderr = (c.stderr + d).slice(-20_000)));
    return c;
  }

  /** The next IPC message with `key`; rejects if the child fails or exits first. */
  message<T>(key: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: Record<string, unknown>) => {
        if (m.failed) return done(new Error(String(m.failed)));
        if (key in m) done(null, m as T);
      };
      const onExit = (code: number | null) => done(new Error(`child exited (${code}) before "${key}": ${this.stderr}`));
      const timer = setTimeout(() => done(new Error(`no "${key}" from the child within ${timeoutMs} ms: ${this.stderr}`)), timeoutMs);
      const done = (err: Error | null, m?: T) => {
        clearTimeout(timer);
        this.proc.off('message', onMessage);
        this.proc.off('exit', onExit);
        if (err) reject(err);
        else resolve(m!);
      };
      this.proc.on('message', onMessage);
      this.proc.once('exit', onExit);
    });
  }

  send(m: unknown): void {
    if (this.proc.connected) this.proc.send(m as string);
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  kill(): Promise<void> {
    if (!this.alive) return Promise.resolve();
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.kill();
    return exited;
  }
}

/** CPU seconds `pid` has used (user + system). */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Busy and total jiffies of the whole machine. */
function machineCpu(): { busy: number; total: number } {
  const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - v[3] - v[4], total };
}

function vmRss(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function percentiles(values: number[]): PingFigures {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] : NaN);
  return { count: s.length, p50: at(0.5), p99: at(0.99), max: s.length ? s[s.length - 1] : NaN };
}

/** 127.0.<b>.<c> addresses for `n` groups, starting at 127.0.<block>.1. */
function addresses(block: number, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `127.0.${block + Math.floor(i / 250)}.${(i % 250) + 1}`);
}

export async function runSoak(cfg: SoakConfig, log: (s: string) => void = (s) => process.stdout.write(s + '\n')): Promise<SoakFigures> {
  checkFdLimit(cfg.fdLimit);
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
  const children: Child[] = [];
  // The server runs with the environment parley-server's launcher gives it.
  const server = Child.spawn('../helpers/server-child.js', cfg.server, cfg.fdLimit, ['--expose-gc'], serverLauncherEnv());
  children.push(server);
  const { port } = await server.message<{ port: number }>('ready', 30_000);
  const pid = server.proc.pid!;
  const memory = async () => {
    const m = server.message<{ memory: Record<string, number> }>('memory', 60_000);
    server.send('memory');
    return (await m).memory;
  };
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, vmRss(pid))), 200);
  try {
    const t0 = Date.now();
    // The idle clients, over many source addresses.
    const sources = addresses(1, Math.ceil(cfg.clients / cfg.perAddress));
    const perHolder = Math.ceil(cfg.clients / cfg.holders);
    const holders: Child[] = [];
    for (let h = 0; h < cfg.holders; h++) {
      const first = h * perHolder;
      const count = Math.min(perHolder, cfg.clients - first);
      const own = sources.slice(Math.floor(first / cfg.perAddress), Math.ceil((first + count) / cfg.perAddress));
      holders.push(Child.spawn('holder.js', { port: port, first, count, addresses: own, heartbeatMs: 20_000 }, cfg.fdLimit));
    }
    children.push(...holders);
    const ready = await Promise.all(holders.map((h) => h.message<{ registered: number }>('ready', 300_000)));
    const connectMs = Date.now() - t0;
    const held = ready.reduce((n, r) => n + r.registered, 0);
    log(`[soak ${cfg.name}] ${held} clients registered in ${(connectMs / 1000).toFixed(1)} s from ${sources.length} source addresses`);

    const ringVictim = 'victim-ring';
    const relayVictim = 'victim-relay';
    const legit = Child.spawn('legit.js', { port: port, from: '127.0.3.1', pingers: cfg.pingers, pingEveryMs: cfg.pingEveryMs, pairs: cfg.pairs, ringVictim, relayVictim }, cfg.fdLimit);
    children.push(legit);
    const legitReady = await legit.message<{ registered: number }>('ready', 60_000);
    const expected = held + legitReady.registered;

    await delay(cfg.settleMs);
    const before = await memory();
    peak = Math.max(peak, before.rss);
    const tBaseline = Date.now();
    log(`[soak ${cfg.name}] before: ${before.clients} registered, server RSS ${(before.rss / MiB).toFixed(0)} MiB; baseline for ${cfg.baselineMs / 1000} s`);
    await delay(cfg.baselineMs);

    const tAttack = Date.now();
    const cpuAtAttack = { server: cpuSeconds(pid), machine: machineCpu() };
    log(`[soak ${cfg.name}] attack: ${cfg.attacks.length} attackers for ${cfg.attackMs / 1000} s`);
    const attackers = cfg.attacks.map((kind) => {
      const i = ATTACKS.indexOf(kind);
      const from = kind === 'connflood' ? [`127.0.2.${i + 1}`, `127.0.2.${i + 101}`] : [`127.0.2.${i + 1}`];
      const c = Child.spawn('attacker.js', { kind, port: port, from, durationMs: cfg.attackMs, ringVictim, relayVictim }, cfg.fdLimit);
      children.push(c);
      return c;
    });
    const outcomes = await Promise.all(attackers.map((a) => a.message<{ outcome: AttackOutcome }>('outcome', cfg.attackMs + 120_000)));
    const tAttackEnd = Date.now();
    const machineEnd = machineCpu();
    const cpu = {
      serverPctDuring: (100 * (cpuSeconds(pid) - cpuAtAttack.server)) / ((tAttackEnd - tAttack) / 1000),
      machineBusyPctDuring: (100 * (machineEnd.busy - cpuAtAttack.machine.busy)) / (machineEnd.total - cpuAtAttack.machine.total),
    };

    // Settle: the attackers' connections are gone. Then the server's memory, after full
    // collections, once a second until it is back within 20 % of before or `returnMs` has passed:
    // V8 gives back the young generation it grew under load only once allocation has calmed down.
    await delay(cfg.settleMs);
    // Pings after the attack are counted up to here: what follows forces collections in the server.
    const tAfter = Date.now();
    const settled = await memory();
    let after = settled;
    const tSettled = Date.now();
    while (after.rss > before.rss * 1.2 && Date.now() - tSettled < cfg.returnMs) {
      await delay(1000);
      after = await memory();
    }
    const returnedMs = after.rss <= before.rss * 1.2 ? Date.now() - tSettled + cfg.settleMs : null;
    const holderChecks = await Promise.all(
      holders.map((h) => {
        const p = h.message<{ check: HolderCheck }>('check', 300_000);
        h.send('check');
        return p;
      }),
    );
    // Attackers that left by themselves have their names held for the resume grace (bounded per
    // address): reserved, not registered clients.
    const atEnd = await memory();
    const registeredAfter = atEnd.clients - atEnd.held;
    const stopped = legit.message<{ report: LegitReport }>('stopped', 60_000);
    legit.send('stop');
    const report = (await stopped).report;

    const check: HolderCheck = { clients: 0, pong: 0, registered: 0, failures: {}, dropped: 0, unexpected: {} };
    for (const { check: c } of holderChecks) {
      check.clients += c.clients;
      check.pong += c.pong;
      check.registered += c.registered;
      check.dropped += c.dropped;
      for (const [k, v] of Object.entries(c.failures)) check.failures[k] = (check.failures[k] ?? 0) + v;
      for (const [k, v] of Object.entries(c.unexpected)) check.unexpected[k] = (check.unexpected[k] ?? 0) + v;
    }
    const inPhase = (a: number, b: number, samples = report.pings) => samples.filter(([t]) => t >= a && t < b).map(([, ms]) => ms);
    const figures: SoakFigures = {
      config: cfg,
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, loadBefore },
      connectMs,
      ping: {
        before: percentiles(inPhase(tBaseline, tAttack)),
        during: percentiles(inPhase(tAttack, tAttackEnd)),
        after: percentiles(inPhase(tAttackEnd, tAfter)),
        timeouts: report.pingTimeouts,
      },
      calls: {
        before: inPhase(tBaseline, tAttack, report.calls.setupMs).length,
        during: inPhase(tAttack, tAttackEnd, report.calls.setupMs).length,
        after: inPhase(tAttackEnd, tAfter, report.calls.setupMs).length,
        refused: report.calls.refused,
        failed: report.calls.failed,
        setupP99During: percentiles(inPhase(tAttack, tAttackEnd, report.calls.setupMs)).p99,
      },
      legit: {
        expected,
        registeredBefore: before.clients,
        registeredAfter,
        dropped: check.dropped + report.dropped.length,
        droppedNames: report.dropped,
        holderCheck: check,
      },
      rss: { before: before.rss, peak, settled: settled.rss, after: after.rss, returnedMs },
      memory: { before, after },
      cpu,
      attackers: Object.fromEntries(outcomes.map(({ outcome }) => [outcome.kind, outcome])),
      ringVictim: { ...report.ringVictim, ordinaryCaller: report.ordinaryCaller.outcomes },
      relayVictim: report.relayVictim,
      serverWarnings: server.stderr.split('\n').filter((l) => l.includes('warn')).length,
      serverAlive: server.alive,
    };
    writeResults(figures);
    log(summary(figures));
    return figures;
  } finally {
    clearInterval(sampler);
    await Promise.all(children.map((c) => c.kill()));
  }
}

function writeResults(f: SoakFigures): void {
  const dir = path.join(SOAK_DIR, 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `soak-${f.config.name}-${f.at.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(f, null, 2) + '\n');
  writeFileSync(path.join(dir, `soak-${f.config.name}-latest.json`), JSON.stringify(f, null, 2) + '\n');
}

export function summary(f: SoakFigures): string {
  const ms = (p: PingFigures) => `p50 ${p.p50.toFixed(1)} / p99 ${p.p99.toFixed(1)} / max ${p.max.toFixed(1)} ms (${p.count})`;
  const lines = [
    `[soak ${f.config.name}] ${f.config.clients} clients, ${f.config.attackMs / 1000} s attack, load before ${f.machine.loadBefore}`,
    `  ping before: ${ms(f.ping.before)}`,
    `  ping during: ${ms(f.ping.during)}`,
    `  ping after:  ${ms(f.ping.after)}; timeouts ${f.ping.timeouts}`,
    `  calls completed before/during/after ${f.calls.before}/${f.calls.during}/${f.calls.after}, setup p99 ${f.calls.setupP99During.toFixed(1)} ms, refused ${JSON.stringify(f.calls.refused)}, failed ${JSON.stringify(f.calls.failed)}`,
    `  legit: expected ${f.legit.expected}, registered before ${f.legit.registeredBefore}, after ${f.legit.registeredAfter}; dropped ${f.legit.dropped}; ` +
      `holders: ${f.legit.holderCheck.pong}/${f.legit.holderCheck.clients} pong, ${f.legit.holderCheck.registered} registered, failures ${JSON.stringify(f.legit.holderCheck.failures)}, unexpected ${JSON.stringify(f.legit.holderCheck.unexpected)}`,
    `  server RSS before ${(f.rss.before / MiB).toFixed(1)} MiB, peak ${(f.rss.peak / MiB).toFixed(1)} MiB, settled ${(f.rss.settled / MiB).toFixed(1)} MiB, after ${(f.rss.after / MiB).toFixed(1)} MiB (${(((f.rss.after - f.rss.before) / f.rss.before) * 100).toFixed(1)} %, back within 20 % ${f.rss.returnedMs === null ? 'never' : `${(f.rss.returnedMs / 1000).toFixed(0)} s after the attack`}); ` +
      ['heapUsed', 'heapTotal', 'external', 'arrayBuffers'].map((k) => `${k} ${(f.memory.before[k] / MiB).toFixed(1)} → ${(f.memory.after[k] / MiB).toFixed(1)}`).join(', ') + ' MiB',
    `  CPU during the attack: server ${f.cpu.serverPctDuring.toFixed(0)} % of a core, machine ${f.cpu.machineBusyPctDuring.toFixed(0)} % busy`,
    `  ring victim: incoming ${JSON.stringify(f.ringVictim.incoming)}, declined ${f.ringVictim.declined}, errors ${JSON.stringify(f.ringVictim.errors)}; ordinary caller ${JSON.stringify(f.ringVictim.ordinaryCaller)}`,
    `  relay victim: accepted ${f.relayVictim.accepted}, candidates ${f.relayVictim.candidates} (${(f.relayVictim.candidateBytes / MiB).toFixed(1)} MiB), errors ${JSON.stringify(f.relayVictim.errors)}`,
  ];
  for (const o of Object.values(f.attackers)) {
    lines.push(`  attacker ${o.kind.padEnd(9)} conns ${o.connections}, cut off ${o.cutOff} (reset ${o.resets}), codes ${JSON.stringify(o.codes)}${Object.keys(o.extra).length ? ', ' + JSON.stringify(o.extra) : ''}`);
  }
  lines.push(`  server warnings logged: ${f.serverWarnings}; alive ${f.serverAlive}`);
  return lines.join('\n');
}
