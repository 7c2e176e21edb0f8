/**
 * A small internet in network namespaces, for calls through real NATs: a "public" namespace
 * that routes between its links and runs parley-server on 192.0.2.1, and per client either a
 * public address of its own or a home network behind a NAT router (nftables masquerade: the
 * mapping keeps the source port, so it is endpoint-independent, and only replies to what went
 * out come in: address- and port-dependent filtering, a "port-restricted cone"). Documentation
 * addresses only (RFC 5737). Every name carries this run's id; `close()` removes it all.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startCoturn, type Coturn } from '../helpers/coturn';

/** The project's folder: the lab runs from test/net and, compiled, from dist-bench/test/net. */
const ROOT = (() => {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) if (existsSync(path.join(dir, 'bin', 'parley'))) return dir;
  throw new Error(`no bin/parley above ${__dirname}`);
})();
const PARLEY = path.join(ROOT, 'bin/parley');
const SERVER = path.join(ROOT, 'bin/parley-server');
export const SERVER_IP = '192.0.2.1';
export const SERVER_PORT = 7100;
export const COTURN_PORT = 3478;

/** Why namespaces can't be used here, or null when they can. */
export function labUnavailable(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root (CI runs as root)';
  for (const tool of ['ip', 'nft', 'conntrack']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed (bash scripts/install-system-deps.sh run)`;
    }
  }
  try {
    const probe = `parleyprobe${process.pid}`;
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
  } catch {
    return 'this machine does not allow creating network namespaces';
  }
  return null;
}

/**
 * How a client reaches the internet: its own public address; a NAT that keeps the source port
 * (endpoint-independent mapping); one that gives every new destination a new random port
 * (`masquerade random`: endpoint-dependent mapping, a "symmetric NAT", through which only a relay
 * gets); or a NAT that drops the client's UDP altogether.
 */
export type Access = 'public' | 'nat' | 'nat-symmetric' | 'nat-no-udp';

interface Site {
  /** The client's own namespace. */
  ns: string;
  /** Its NAT router's namespace, when it has one. */
  router?: string;
  /** The client's address (private behind a NAT). */
  ip: string;
}

export interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | string>;
  waitOut(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** When (performance.now(), this process) the first JSON event of that name was read, if yet. */
  firstAt(event: string): number | undefined;
}

let runs = 0;

export class Lab {
  private readonly namespaces: string[] = [];
  private readonly procs: ChildProcess[] = [];
  private readonly coturns: Coturn[] = [];
  readonly sites = {} as Record<'alice' | 'bob', Site>;
  private pub = '';

  private constructor(private readonly id: string) {}

  /** Builds the namespaces; on any failure what was built is removed again. */
  static create(access: Record<'alice' | 'bob', Access>): Lab {
    const lab = new Lab(`pl${process.pid.toString(36)}${(runs++).toString(36)}`);
    try {
      lab.pub = lab.addNs('pub');
      lab.sh(lab.pub, 'ip link set lo up', `ip addr add ${SERVER_IP}/32 dev lo`, 'sysctl -qw net.ipv4.ip_forward=1');
      lab.sites.alice = lab.site('a', 1, access.alice);
      lab.sites.bob = lab.site('b', 2, access.bob);
      return lab;
    } catch (err) {
      lab.close();
      throw err;
    }
  }

  /**
   * The public link of client n is 198.51.100.0/24 (n = 1) or 203.0.113.0/24 (n = 2): the public
   * namespace is .1 there, the client (or its NAT router) .2. Home networks: alice 192.0.2.64/26,
   * bob 192.0.2.128/26, router .65/.129, client .66/.130.
   */
  private site(tag: string, n: 1 | 2, access: Access): Site {
    const wanNet = n === 1 ? '198.51.100' : '203.0.113';
    const client = this.addNs(tag);
    this.sh(client, 'ip link set lo up');
    if (access === 'public') {
      this.link(this.pub, `to${tag}`, client, 'wan');
      this.sh(this.pub, `ip addr add ${wanNet}.1/24 dev to${tag}`, `ip link set to${tag} up`);
      this.sh(client, `ip addr add ${wanNet}.2/24 dev wan`, 'ip link set wan up', `ip route add default via ${wanNet}.1`);
      return { ns: client, ip: `${wanNet}.2` };
    }
    const router = this.addNs(`${tag}r`);
    const lan = n === 1 ? '192.0.2.64' : '192.0.2.128';
    const base = Number(lan.split('.')[3]);
    const routerIp = `192.0.2.${base + 1}`;
    const clientIp = `192.0.2.${base + 2}`;
    this.link(this.pub, `to${tag}`, router, 'wan');
    this.link(router, 'lan', client, 'eth0');
    this.sh(this.pub, `ip addr add ${wanNet}.1/24 dev to${tag}`, `ip link set to${tag} up`);
    this.sh(
      router,
      'ip link set lo up',
      `ip addr add ${wanNet}.2/24 dev wan`,
      'ip link set wan up',
      `ip addr add ${routerIp}/26 dev lan`,
      'ip link set lan up',
      `ip route add default via ${wanNet}.1`,
      'sysctl -qw net.ipv4.ip_forward=1',
    );
    this.sh(client, `ip addr add ${clientIp}/26 dev eth0`, 'ip link set eth0 up', `ip route add default via ${routerIp}`);
    const udpRule = access === 'nat-no-udp' ? 'iifname "lan" meta l4proto udp drop' : '';
    this.nft(
      router,
      [
        'table ip nat {',
        '  chain post {',
        '    type nat hook postrouting priority srcnat; policy accept;',
        `    oifname "wan" masquerade${access === 'nat-symmetric' ? ' random' : ''}`,
        '  }',
        '}',
        // Unsolicited packets from outside are dropped, as a home router's firewall does; then
        // they leave no connection-tracking entry that would take the port a later mapping wants.
        'table ip filter {',
        '  chain inbound {',
        '    type filter hook input priority filter; policy accept;',
        '    iifname "wan" ct state new drop',
        '  }',
        '  chain through {',
        '    type filter hook forward priority filter; policy accept;',
        '    iifname "wan" ct state new drop',
        `    ${udpRule}`,
        '  }',
        '}',
      ].join('\n'),
    );
    return { ns: client, router, ip: clientIp };
  }

  /**
   * The NAT gives its client's UDP flows new public ports from now on: masquerade to another
   * port range, and its UDP mappings (connection-tracking entries) deleted, as a router that
   * reboots or times a mapping out does. The range lies below the kernel's ephemeral ports
   * (32768–60999): masquerade keeps a source port that already falls in its range, so one
   * inside it would, now and then, give the client its old mapping back.
   */
  rebind(who: 'alice' | 'bob'): void {
    const router = this.sites[who].router;
    if (!router) throw new Error(`${who} has no NAT`);
    this.sh(
      router,
      'nft flush chain ip nat post',
      'nft add rule ip nat post oifname "wan" meta l4proto udp masquerade to :20000-20999',
      'nft add rule ip nat post oifname "wan" masquerade',
      // The UDP mappings only: the signaling connection (TCP) stays as it was.
      'conntrack -D -p udp >/dev/null 2>&1 || true',
    );
  }

  /** parley-server in the public namespace, on SERVER_IP; `args` add to its command line. */
  async startServer(args: string[] = []): Promise<Proc> {
    const p = this.spawn(this.pub, SERVER, ['--host', SERVER_IP, '--port', String(SERVER_PORT), '--log-level', 'warn', ...args]);
    await p.waitOut(/listening on TCP port/);
    return p;
  }

  /**
   * coturn (Debian's `turnserver`) in the public namespace on SERVER_IP:COTURN_PORT, relaying
   * from ports 49152–49252 there, with the shared-secret scheme (TURN REST credentials) the
   * parley server mints for: `secret` is both's.
   */
  async startCoturn(secret: string): Promise<Coturn> {
    const coturn = await startCoturn({
      prefix: ['ip', 'netns', 'exec', this.pub],
      listenIp: SERVER_IP,
      port: COTURN_PORT,
      relayIp: SERVER_IP,
      minPort: 49152,
      maxPort: 49252,
      secret,
      allowLoopbackPeers: false,
      // This process is outside the namespaces and cannot send it a Binding request.
      waitReady: false,
    });
    this.coturns.push(coturn);
    // Logged once its listeners and relay ports are set up; a client's first Allocate is retried anyway.
    const deadline = Date.now() + 10_000;
    while (!/Total General servers/.test(coturn.output())) {
      if (coturn.process.exitCode !== null || Date.now() > deadline) throw new Error(`coturn did not start:\n${coturn.output().slice(-4000)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return coturn;
  }

  /** `parley ARGS` inside a client's namespace, talking to the lab's server. */
  parley(who: 'alice' | 'bob', args: string[]): Proc {
    return this.spawn(this.sites[who].ns, PARLEY, [...args, '--server', `${SERVER_IP}:${SERVER_PORT}`]);
  }

  /** Kills what runs in the namespaces and removes them (and coturn's files); safe to call twice. */
  close(): void {
    for (const c of this.procs) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const c of this.coturns.splice(0)) void c.stop();
    rmSync(path.join(tmpdir(), `parley-lab-${this.id}`), { recursive: true, force: true });
    for (const ns of this.namespaces.splice(0).reverse()) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // Already gone.
      }
    }
  }

  private addNs(tag: string): string {
    const ns = `${this.id}${tag}`;
    execFileSync('ip', ['netns', 'add', ns], { stdio: 'ignore' });
    this.namespaces.push(ns);
    return ns;
  }

  /** A veth pair created inside the namespaces, so no name is ever taken in the host's. */
  private link(nsA: string, a: string, nsB: string, b: string): void {
    execFileSync('ip', ['-n', nsA, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b, 'netns', nsB]);
  }

  private sh(ns: string, ...cmds: string[]): void {
    for (const cmd of cmds) execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
  }

  private nft(ns: string, ruleset: string): void {
    execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: ruleset, stdio: ['pipe', 'ignore', 'pipe'] });
  }

  /** Runs the node script `bin` inside `ns`. */
  private spawn(ns: string, bin: string, args: string[]): Proc {
    // A private config folder per lab: it also holds the clients' identity key and known peers.
    const env: NodeJS.ProcessEnv = { ...process.env, PARLEY_CONFIG: path.join(tmpdir(), `parley-lab-${this.id}`, 'config.json') };
    for (const k of Object.keys(env)) if (k.startsWith('PARLEY_') && k !== 'PARLEY_CONFIG') delete env[k];
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.procs.push(child);
    let out = '';
    let err = '';
    const grew = new EventEmitter();
    const seen = new Map<string, number>();
    child.stdout!.on('data', (d: Buffer) => {
      const at = performance.now();
      for (const m of d.toString().matchAll(/"event":"([a-z_-]+)"/g)) if (!seen.has(m[1])) seen.set(m[1], at);
      out += d;
      grew.emit('data');
    });
    child.stderr!.on('data', (d) => ((err += d), grew.emit('data')));
    const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
    child.once('exit', () => grew.emit('data'));
    const waitOut = async (pattern: RegExp, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(out)) {
        if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
          throw new Error(`waiting for ${String(pattern)} in ${ns}; exit ${child.exitCode}; stdout:\n${out}\nstderr:\n${err}`);
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 200);
          grew.once('data', () => (clearTimeout(t), resolve()));
        });
      }
    };
    return { child, out: () => out, err: () => err, exited, waitOut, firstAt: (event) => seen.get(event) };
  }
}
