/**
 * A private coturn (`turnserver`) for tests: on a free port of its own, with the TURN REST
 * shared-secret scheme, no config file, no TLS, no CLI, logging to stdout (kept for failures).
 * Listening address, ports and relay address are parameters, and the command can run under a
 * prefix (`ip netns exec NS`), so network-namespace tests can place it between their networks.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeBindingRequest, parseBindingSuccess } from '../../src/protocol/stun';

export const TURNSERVER = '/usr/bin/turnserver';

/** Why coturn tests cannot run here, or null when they can. */
export function coturnMissing(): string | null {
  if (!existsSync(TURNSERVER)) return `${TURNSERVER} is not installed (Debian package coturn): the coturn tests are skipped`;
  const r = spawnSync(TURNSERVER, ['--version'], { encoding: 'utf8', timeout: 5000 });
  if (r.error) return `${TURNSERVER} does not run (${r.error.message}): the coturn tests are skipped`;
  return null;
}

export interface CoturnOptions {
  /** Where it listens (default 127.0.0.1). */
  listenIp?: string;
  /** Its STUN/TURN port (default: a free UDP port on listenIp, found by binding port 0). */
  port?: number;
  /** The address relayed ports are opened on (default: listenIp). */
  relayIp?: string;
  /** The relay port range (default: 40 ports at a random place in 20000–59999). */
  minPort?: number;
  maxPort?: number;
  realm?: string;
  secret?: string;
  /** Allow 127.x peers (default true: the loopback tests relay to loopback). */
  allowLoopbackPeers?: boolean;
  /** More flags: --denied-peer-ip, --allowed-peer-ip, --max-allocate-lifetime … */
  extraArgs?: string[];
  /** A command to run turnserver under, e.g. ['ip', 'netns', 'exec', 'ns1']. */
  prefix?: string[];
  /** Wait until it answers a STUN Binding from here (default true; false when this process cannot reach it). */
  waitReady?: boolean;
  /** How long to wait for that (default 10 s). */
  readyTimeoutMs?: number;
}

export interface Coturn {
  host: string;
  port: number;
  realm: string;
  secret: string;
  relayIp: string;
  minPort: number;
  maxPort: number;
  /** The process (the prefix's, if any); killed as a group on stop. */
  process: ChildProcess;
  /** TURN REST credentials valid for `ttlS` (or already expired, for a negative one). */
  credentials(id?: string, ttlS?: number): { username: string; password: string };
  /** host, port and fresh credentials: a TurnServerConfig. */
  config(id?: string): { host: string; port: number; username: string; password: string };
  /** What it logged so far (the last 256 KB). */
  output(): string;
  /** Kills the process group and waits for it; idempotent. */
  stop(): Promise<void>;
}

/**
 * TURN REST API credentials (draft-uberti-behave-turn-rest): username "<expiry>:<id>", password
 * base64(HMAC-SHA1(secret, username)).
 */
export function restCredentials(secret: string, id = 'parley', ttlS = 3600): { username: string; password: string } {
  const username = `${Math.floor(Date.now() / 1000) + ttlS}:${id}`;
  return { username, password: createHmac('sha1', secret).update(username).digest('base64') };
}

export async function startCoturn(opts: CoturnOptions = {}): Promise<Coturn> {
  // A port found free may be taken before coturn binds it: try a few times.
  for (let attempt = 0; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (attempt >= 2 || opts.port !== undefined) throw err;
    }
  }
}

async function startOnce(opts: CoturnOptions): Promise<Coturn> {
  const host = opts.listenIp ?? '127.0.0.1';
  const port = opts.port ?? (await freeUdpPort(host));
  const relayIp = opts.relayIp ?? host;
  const minPort = opts.minPort ?? 20000 + 40 * Math.floor(Math.random() * 1000);
  const maxPort = opts.maxPort ?? minPort + 39;
  const realm = opts.realm ?? 'parley';
  const secret = opts.secret ?? randomBytes(12).toString('hex');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-coturn-'));
  const args = [
    '-n', // no config file: nothing from /etc/turnserver.conf
    `--listening-ip=${host}`,
    `--listening-port=${port}`,
    `--relay-ip=${relayIp}`,
    `--min-port=${minPort}`,
    `--max-port=${maxPort}`,
    '--use-auth-secret',
    `--static-auth-secret=${secret}`,
    `--realm=${realm}`,
    ...(opts.allowLoopbackPeers === false ? [] : ['--allow-loopback-peers']),
    '--no-tls',
    '--no-dtls',
    '--no-tcp',
    '--no-cli',
    '--no-rfc5780',
    '--log-file=stdout',
    '--simple-log',
    `--pidfile=${path.join(dir, 'turnserver.pid')}`,
    `--userdb=${path.join(dir, 'turndb')}`,
    ...(opts.extraArgs ?? []),
  ];
  const [cmd, ...cmdArgs] = [...(opts.prefix ?? []), TURNSERVER, ...args];
  const child = spawn(cmd, cmdArgs, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk: Buffer) => {
    log += chunk.toString('utf8');
    if (log.length > 256 * 1024) log = log.slice(-256 * 1024);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        signalGroup(child, 'SIGTERM');
        const killer = setTimeout(() => signalGroup(child, 'SIGKILL'), 3000);
        await exited;
        clearTimeout(killer);
      }
      rmSync(dir, { recursive: true, force: true });
    })());
  const coturn: Coturn = {
    host,
    port,
    realm,
    secret,
    relayIp,
    minPort,
    maxPort,
    process: child,
    credentials: (id, ttlS) => restCredentials(secret, id, ttlS),
    config: (id) => ({ host, port, ...restCredentials(secret, id) }),
    output: () => log,
    stop,
  };
  if (opts.waitReady !== false) {
    const early = exited.then(() => 'exited' as const);
    const ready = await Promise.race([waitForBinding(host, port, opts.readyTimeoutMs ?? 10_000), early]);
    if (ready !== true) {
      await stop();
      throw new Error(`turnserver on ${host}:${port} ${ready === 'exited' ? 'exited' : 'did not answer a STUN Binding'}; its output:\n${log.slice(-4000)}`);
    }
  }
  return coturn;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // Already gone.
  }
}

async function freeUdpPort(host: string): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, host, () => resolve());
  });
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** True once host:port answers a STUN Binding request, false after `timeoutMs`. */
async function waitForBinding(host: string, port: number, timeoutMs: number): Promise<boolean> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, () => resolve()));
  const id = randomBytes(12);
  try {
    return await new Promise<boolean>((resolve) => {
      const every = setInterval(() => s.send(encodeBindingRequest(id), port, host), 100);
      const give = setTimeout(() => finish(false), timeoutMs);
      const finish = (ok: boolean) => {
        clearInterval(every);
        clearTimeout(give);
        resolve(ok);
      };
      s.on('message', (m) => {
        if (parseBindingSuccess(m)?.transactionId.equals(id)) finish(true);
      });
      s.on('error', () => undefined);
      s.send(encodeBindingRequest(id), port, host);
    });
  } finally {
    s.close();
  }
}
