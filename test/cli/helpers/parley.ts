/** Running the built `parley` and `parley-server` as real processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const PARLEY = path.join(__dirname, '../../../bin/parley');
const SERVER = path.join(__dirname, '../../../bin/parley-server');

export interface Run {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  /** Waits until `pattern` shows on stdout. */
  waitOut(pattern: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Waits until `pattern` shows on stderr. */
  waitErr(pattern: string | RegExp, timeoutMs?: number): Promise<string>;
}

/**
 * A config path of its own for one run. Random, not a counter: jest runs several test files in
 * one process, each with its modules afresh, so a counter would start again and meet an earlier
 * file's folder (and its remembered peers).
 */
export function privateConfig(): string {
  return path.join(os.tmpdir(), `parley-test-no-config-${process.pid}`, randomBytes(6).toString('hex'), 'config.json');
}

/**
 * Runs `parley` with a private config location (so a developer's own config file never leaks
 * into a test, and each run is a new user: its own identity key, no peers remembered) and
 * whatever environment the test adds.
 */
export function run(args: string[], opts: { stdin?: 'pipe' | 'ignore'; bin?: string; env?: Record<string, string> } = {}): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, PARLEY_CONFIG: privateConfig(), ...opts.env };
  for (const k of Object.keys(env)) {
    if (k.startsWith('PARLEY_') && k !== 'PARLEY_CONFIG' && !(opts.env && k in opts.env)) delete env[k];
  }
  const child = spawn(process.execPath, [opts.bin ?? PARLEY, ...args], { stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  const grew = new EventEmitter();
  child.stdout!.on('data', (d) => {
    out += d;
    grew.emit('data');
  });
  child.stderr!.on('data', (d) => {
    err += d;
    grew.emit('data');
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  child.once('exit', () => grew.emit('data'));
  const waitFor = (text: () => string) => async (pattern: string | RegExp, timeoutMs = 20_000) => {
    const seen = () => (typeof pattern === 'string' ? text().includes(pattern) : pattern.test(text()));
    const deadline = Date.now() + timeoutMs;
    while (!seen()) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        throw new Error(`waiting for ${String(pattern)}; exit ${child.exitCode}; stdout:\n${out}\nstderr:\n${err}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 250);
        grew.once('data', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return text();
  };
  return { child, out: () => out, err: () => err, exited, waitOut: waitFor(() => out), waitErr: waitFor(() => err) };
}

/** parley-server in its own process, so a test can kill it the hard way. */
export async function serverProcess(port = 0): Promise<{ port: number; child: ChildProcess }> {
  const r = run(['--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn'], { bin: SERVER });
  const out = await r.waitOut(/listening on TCP port \d+/);
  return { port: Number(/listening on TCP port (\d+)/.exec(out)![1]), child: r.child };
}

/** A TCP port nothing listens on (it was free a moment ago). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Polls `check` until it returns true. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
