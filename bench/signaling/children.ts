import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { LoadJob, Ready, Reply, ServerKind, ServerRequest } from './ipc';

/** bin/launcher-env.js, from where this file runs (dist-bench/bench/signaling). */
const serverLauncherEnv = require(path.resolve(__dirname, '../../../bin/launcher-env')) as () => NodeJS.ProcessEnv;

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
type Request = WithoutId<ServerRequest | LoadJob>;
/** The environment parley's server runs with when started by its launcher, as users run it. */
export const parleyServerEnv = (): NodeJS.ProcessEnv => serverLauncherEnv();
type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

const live = new Set<ChildProcess>();
/** Whatever happens to the bench, no server or generator outlives it. */
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/**
 * A forked server or generator, driven by request/reply over its IPC channel. `Req` is what it
 * may be asked (the signaling bench's messages unless said otherwise).
 */
export class Child<Req extends { type: string } = Request> {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private exited = false;

  private constructor(
    readonly proc: ChildProcess,
    readonly label: string,
  ) {
    live.add(proc);
    proc.on('message', (m: Reply<unknown> | Ready) => {
      if ('ready' in m) return;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.ok) p?.resolve(m.value);
      else p?.reject(new Error(`${label}: ${m.error}`));
    });
    proc.on('exit', (code, signal) => {
      this.exited = true;
      live.delete(proc);
      for (const p of this.pending.values()) p.reject(new Error(`${label} exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  /** Starts a server under test and waits until it listens. */
  static async server(kind: ServerKind, cpu: number | null, profileDir: string | null = null): Promise<{ child: Child; port: number }> {
    const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${kind}-${Date.now()}.cpuprofile`] : [];
    // parley's server runs with the environment its launcher gives it, as users run it.
    const env = kind === 'parley' ? serverLauncherEnv() : process.env;
    const proc = fork(path.join(__dirname, 'server-child.js'), [kind], { execArgv: ['--expose-gc', ...profile], stdio: 'inherit', env });
    const child = new Child(proc, `${kind} server`);
    const port = await new Promise<number>((resolve, reject) => {
      proc.on('message', (m: Ready) => m.ready && resolve(m.port));
      proc.once('exit', (code) => reject(new Error(`${kind} server exited (${code}) before listening`)));
    });
    pin(proc, cpu);
    return { child, port };
  }

  static load(cpu: number | null): Child {
    const proc = fork(path.join(__dirname, 'load.js'), [], { execArgv: [], stdio: 'inherit' });
    pin(proc, cpu);
    return new Child(proc, 'load generator');
  }

  /**
   * Forks `file` (a compiled script), pins it to `cpu`, and, when `ready`, waits for its Ready
   * message (returned whole: a child may say more than its port). A label ending in "server" is
   * asked to `stop` on stop(); anything else is disconnected.
   */
  static async start<R extends { type: string }, M extends Ready = Ready>(
    file: string,
    args: string[],
    opts: { label: string; cpu: number | null; env?: NodeJS.ProcessEnv; execArgv?: string[]; ready?: boolean },
  ): Promise<{ child: Child<R>; ready: M | null }> {
    const proc = fork(file, args, { execArgv: opts.execArgv ?? [], stdio: 'inherit', env: opts.env ?? process.env });
    const child = new Child<R>(proc, opts.label);
    const ready =
      opts.ready === false
        ? null
        : await new Promise<M>((resolve, reject) => {
            proc.on('message', (m: M) => m.ready && resolve(m));
            proc.once('exit', (code) => reject(new Error(`${opts.label} exited (${code}) before it was ready`)));
          });
    pin(proc, opts.cpu);
    return { child, ready };
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  ask<T>(req: WithoutId<Req>, timeoutMs = 120_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.label} is gone`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.label}: no reply to ${req.type} in ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.proc.send({ ...req, id });
    });
  }

  /** Asks a server to close; kills whatever has not exited a few seconds later. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    if (this.label.endsWith('server')) this.ask({ type: 'stop' } as WithoutId<Req>, 5000).catch(() => undefined);
    else this.proc.disconnect();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}

/**
 * Gives the server and the generator one core each, so neither steals the other's time
 * (Linux, taskset present); otherwise they share the machine as the scheduler likes.
 */
export function pin(proc: ChildProcess, cpu: number | null): void {
  if (cpu === null || proc.pid === undefined) return;
  spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(proc.pid)], { stdio: 'ignore' });
}

/**
 * Gives every thread of process `pid` the nice value `nice` (negative: a larger share of its core
 * against the machine's other work; needs root, otherwise nothing changes), so a benchmark on a
 * shared machine is less at the mercy of what else runs there. False when it could not.
 */
export function renice(pid: number, nice: number): boolean {
  return eachThread(pid, (tid) => spawnSync('renice', ['-n', String(nice), '-p', tid], { stdio: 'ignore' }).status === 0);
}

/**
 * Puts every thread of process `pid` under the round-robin real-time policy at `priority` (needs
 * root): it then runs as soon as it wakes, ahead of the machine's ordinary work, within the
 * kernel's real-time throttle (by default 95 % of each second, so it cannot take a core whole).
 */
export function realtime(pid: number, priority = 1): boolean {
  return eachThread(pid, (tid) => spawnSync('chrt', ['-r', '-p', String(priority), tid], { stdio: 'ignore' }).status === 0);
}

function eachThread(pid: number, f: (tid: string) => boolean): boolean {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    tasks = [String(pid)];
  }
  return tasks.map(f).every(Boolean);
}
