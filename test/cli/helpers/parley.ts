/** Running the built `parley` and `parley-server` as real processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

export const PARLEY = path.join(__dirname, '../../../bin/parley');
const SERVER = path.join(__dirname, '../../../bin/parley-server');

export interface Run {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  /** Polls stdout until `pattern` shows. */
  waitOut(pattern: string | RegExp, timeoutMs?: number): Promise<string>;
}

export function run(args: string[], opts: { stdin?: 'pipe' | 'ignore'; bin?: string } = {}): Run {
  const child = spawn(process.execPath, [opts.bin ?? PARLEY, ...args], { stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const waitOut = async (pattern: string | RegExp, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(typeof pattern === 'string' ? out.includes(pattern) : pattern.test(out))) {
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(`waiting for ${String(pattern)}; exit ${child.exitCode}; stdout:\n${out}\nstderr:\n${err}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return out;
  };
  return { child, out: () => out, err: () => err, exited, waitOut };
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
