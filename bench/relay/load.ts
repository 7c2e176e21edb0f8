import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { RelayAllocation, type TurnServerConfig } from '../../src/media/turn/relay-allocation';
import { UdpLink, type Address } from '../../src/media/udp-link';
import { looksLikeChannelData } from '../../src/protocol/stun';
import { restCredentials } from '../../test/helpers/coturn';
import { ANSWER, OFFER } from '../signaling/driver';
import type { Reply } from '../signaling/ipc';
import { machineBusyMicros, processTimes } from '../signaling/machine';
import type { RelayLoadJob, RelayTarget, SetupResult, StepResult } from './ipc';

/**
 * The relay bench's load generator, in its own process (pinned to the core the relay is not on).
 * `setup` makes, per call, two allocations with the client's own RelayAllocation (each on its own
 * UdpLink) and binds a channel from each to the other's relayed address; `step` then sends, in
 * turn from every allocation, the ChannelData frame RelayAllocation itself encoded, paced to a
 * total rate, and counts what comes out at the far allocation.
 */

interface Side {
  link: UdpLink;
  alloc: RelayAllocation;
  /** ChannelData toward the other side's relayed address, encoded once. */
  frame: Buffer;
  server: Address;
}

type Turn = { url: string; username: string; password: string };
type Msg = { type: string; call?: string; turn?: Turn; code?: string; message?: string };

let sides: Side[] = [];
let parties: Party[] = [];
let relayPid = -1;
let received = 0;

/** Each call's sockets on a loopback address of their own, as calls come from different hosts. */
function clientIp(call: number): string {
  return `127.3.${Math.floor(call / 250)}.${1 + (call % 250)}`;
}

/** One registered name on parley's signaling port: just enough of the protocol to set up a call. */
class Party {
  private pending = '';
  private nextReq = 1;
  private readonly inbox: Msg[] = [];
  private readonly waiting: { type: string; resolve: (m: Msg) => void; reject: (e: Error) => void }[] = [];
  private readonly pinger: NodeJS.Timeout;

  private constructor(
    private readonly socket: net.Socket,
    readonly name: string,
  ) {
    socket.on('data', (chunk) => {
      const lines = (this.pending + chunk.toString('utf8')).split('\n');
      this.pending = lines.pop()!;
      for (const line of lines) this.deliver(JSON.parse(line) as Msg);
    });
    socket.on('close', () => this.deliver({ type: 'error', code: 'closed', message: 'connection closed' }));
    // The server drops a client silent for a minute, and its call (and allocations) with it.
    this.pinger = setInterval(() => this.send({ type: 'ping' }), 15_000);
  }

  static async connect(port: number, localAddress: string, name: string): Promise<Party> {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    socket.setNoDelay(true);
    await once(socket, 'connect');
    const p = new Party(socket, name);
    p.send({ type: 'hello', version: 1, name });
    await p.next('welcome');
    return p;
  }

  send(msg: Record<string, unknown>): void {
    this.socket.write(JSON.stringify({ ...msg, req: this.nextReq++ }) + '\n');
  }

  /** The next message of `type` (kept if it came first); an error message rejects it. */
  next(type: string): Promise<Msg> {
    const i = this.inbox.findIndex((m) => m.type === type);
    if (i !== -1) return Promise.resolve(this.inbox.splice(i, 1)[0]);
    return new Promise((resolve, reject) => this.waiting.push({ type, resolve, reject }));
  }

  private deliver(m: Msg): void {
    if (m.type === 'error') {
      for (const w of this.waiting.splice(0)) w.reject(new Error(`${this.name}: ${m.code}: ${m.message}`));
      return;
    }
    const i = this.waiting.findIndex((w) => w.type === m.type);
    if (i === -1) this.inbox.push(m);
    else this.waiting.splice(i, 1)[0].resolve(m);
  }

  close(): void {
    clearInterval(this.pinger);
    this.socket.destroy();
  }
}

/** A call between two names on parley's server, accepted: the TURN credentials each party was given. */
async function parleyCall(port: number, i: number): Promise<[TurnServerConfig, TurnServerConfig]> {
  const ip = clientIp(i);
  const [a, b] = await Promise.all([Party.connect(port, ip, `ra${i}`), Party.connect(port, ip, `rb${i}`)]);
  parties.push(a, b);
  a.send({ type: 'call', to: b.name, offer: OFFER });
  const incoming = await b.next('incoming');
  b.send({ type: 'answer', call: incoming.call, accept: true, answer: ANSWER });
  const ringing = await a.next('ringing');
  await a.next('accepted');
  return [server(ringing.turn), server(incoming.turn)];
}

function server(turn: Turn | undefined): TurnServerConfig {
  const m = turn && /^turn:([\d.]+):(\d+)$/.exec(turn.url);
  if (!turn || !m) throw new Error(`the server offered no usable relay (${JSON.stringify(turn)})`);
  return { host: m[1], port: Number(m[2]), username: turn.username, password: turn.password };
}

function credentials(target: RelayTarget, i: number): Promise<[TurnServerConfig, TurnServerConfig]> {
  if (target.kind === 'parley') return parleyCall(target.signalingPort, i);
  const at = { host: target.host, port: target.port };
  return Promise.resolve([
    { ...at, ...restCredentials(target.secret, `a${i}`) },
    { ...at, ...restCredentials(target.secret, `b${i}`) },
  ]);
}

/** The ChannelData frame `alloc` sends for `payload` to `to`, taken off the link instead of sent. */
function encodedBy(link: UdpLink, alloc: RelayAllocation, payload: Buffer, to: Address): Buffer {
  let frame: Buffer | null = null;
  const own = link as Partial<Pick<UdpLink, 'send'>>;
  own.send = (buf: Buffer) => void (frame = Buffer.from(buf));
  try {
    alloc.send(payload, to);
  } finally {
    delete own.send;
  }
  if (!frame || !looksLikeChannelData(frame)) throw new Error('the allocation did not send ChannelData: its channel is not bound');
  return frame;
}

/**
 * Sends `payload` from `from` to `to`'s relayed address every 100 ms until `to` relays one to us
 * (the first may be dropped: the far allocation refuses it until its own ChannelBind has installed
 * the permission); rejects after `ms`.
 */
function proven(from: RelayAllocation, to: RelayAllocation, payload: Buffer, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const again = setInterval(() => from.send(payload, to.relayed), 100);
    const timer = setTimeout(() => {
      clearInterval(again);
      reject(new Error(`nothing relayed to ${to.relayed.ip}:${to.relayed.port} in ${ms} ms`));
    }, ms);
    to.once('packet', () => {
      clearInterval(again);
      clearTimeout(timer);
      resolve();
    });
    from.send(payload, to.relayed);
  });
}

/** One call: two allocations, a channel each toward the other's relayed address, proven both ways. */
async function setUpCall(target: RelayTarget, i: number, payload: Buffer): Promise<Side[]> {
  const [ca, cb] = await credentials(target, i);
  const ip = clientIp(i);
  const links = await Promise.all([UdpLink.open({ host: ip }), UdpLink.open({ host: ip })]);
  const allocs = await Promise.all([RelayAllocation.allocate(links[0], ca), RelayAllocation.allocate(links[1], cb)]);
  const [a, b] = allocs;
  a.permit(b.relayed);
  b.permit(a.relayed);
  // Sent while the channels bind (RelayAllocation holds them until bound): an arrival each way says both are ready.
  await Promise.all([proven(a, b, payload, 5000), proven(b, a, payload, 5000)]).catch((err: Error) => {
    throw new Error(`call ${i}: ${err.message} (A: ${JSON.stringify(a.stats)}, B: ${JSON.stringify(b.stats)})`);
  });
  const mine = [
    { link: links[0], alloc: a, frame: encodedBy(links[0], a, payload, b.relayed), server: a.server },
    { link: links[1], alloc: b, frame: encodedBy(links[1], b, payload, a.relayed), server: b.server },
  ];
  for (const s of mine) s.alloc.on('packet', () => void received++);
  return mine;
}

async function setup(job: Extract<RelayLoadJob, { type: 'setup' }>): Promise<SetupResult> {
  const started = performance.now();
  relayPid = job.target.pid;
  // An Opus-sized payload: RTP header and 20 ms of speech at ~40 kb/s.
  const payload = Buffer.alloc(job.payloadBytes, 0x5a);
  for (let first = 0; first < job.calls; first += job.concurrency) {
    const batch = Array.from({ length: Math.min(job.concurrency, job.calls - first) }, (_, k) => setUpCall(job.target, first + k, payload));
    for (const s of await Promise.all(batch)) sides.push(...s);
  }
  const hex = (port: number) => `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  relaySockets = new Set([hex(sides[0].server.port), ...sides.map((s) => hex(s.alloc.relayed.port))]);
  // Interleaved A, B, A, B…: consecutive sends go to different allocations.
  return { calls: job.calls, allocations: sides.length, ms: performance.now() - started, frameBytes: sides[0].frame.length };
}

/** The relay's sockets as /proc/net/udp names them (`0100007F:PORT`, hex): its UDP port and every relayed port. */
let relaySockets = new Set<string>();

/**
 * Datagrams the kernel dropped at full receive buffers (Linux, /proc/net/udp's last column): at
 * the relay's sockets, and at the generator's (on 127.3.x.x: `xxxx037F`); null elsewhere.
 */
function bufferDrops(): { relay: number; generator: number } | null {
  try {
    const drops = { relay: 0, generator: 0 };
    for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 13) continue;
      const local = f[1];
      if (relaySockets.has(local)) drops.relay += Number(f[f.length - 1]);
      else if (local.slice(4, 8) === '037F') drops.generator += Number(f[f.length - 1]);
    }
    return drops;
  } catch {
    return null;
  }
}

interface Snapshot {
  t: number;
  bufferDrops: { relay: number; generator: number } | null;
  sent: number;
  received: number;
  relay: { user: number; system: number } | null;
  generator: number;
  machine: number | null;
}

function snapshot(t: number, sent: number): Snapshot {
  const cpu = process.cpuUsage();
  return { t, sent, received, bufferDrops: bufferDrops(), relay: processTimes(relayPid), generator: cpu.user + cpu.system, machine: machineBusyMicros() };
}

const sendErrors = () => sides.reduce((n, s) => n + s.link.sendErrors, 0);

/**
 * `pps` packets a second in total, from every allocation in turn (so each sends pps / allocations
 * a second, evenly spaced), on a 1 ms timer: the warm-up, then the measured window, then a drain.
 */
async function step(job: Extract<RelayLoadJob, { type: 'step' }>): Promise<StepResult> {
  const n = sides.length;
  const errors0 = sendErrors();
  let sent = 0;
  let cursor = 0;
  const t0 = performance.now();
  const windowStart = t0 + job.warmupMs;
  const windowEnd = windowStart + job.windowMs;
  let from: Snapshot | null = null;
  const to = await new Promise<Snapshot>((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (!from && now >= windowStart) from = snapshot(now, sent);
      if (now >= windowEnd) return resolve(snapshot(now, sent));
      const due = Math.floor(((now - t0) * job.pps) / 1000) - sent;
      for (let k = 0; k < due; k++) {
        const s = sides[cursor];
        s.link.send(s.frame, s.server);
        if (++cursor === n) cursor = 0;
      }
      sent += Math.max(0, due);
      setTimeout(tick, 1);
    };
    tick();
  });
  await new Promise((resolve) => setTimeout(resolve, job.drainMs));
  const a = from!;
  return {
    targetPps: job.pps,
    seconds: (to.t - a.t) / 1000,
    sent: to.sent - a.sent,
    received: to.received - a.received,
    relayCpuMicros: a.relay && to.relay ? to.relay.user + to.relay.system - a.relay.user - a.relay.system : null,
    relaySystemMicros: a.relay && to.relay ? to.relay.system - a.relay.system : null,
    generatorCpuMicros: to.generator - a.generator,
    machineCpuMicros: a.machine === null || to.machine === null ? null : to.machine - a.machine,
    sendErrors: sendErrors() - errors0,
    drained: received - to.received,
    // The counts of sockets that exist throughout: differences are this window's drops.
    bufferDrops: a.bufferDrops && to.bufferDrops ? { relay: to.bufferDrops.relay - a.bufferDrops.relay, generator: to.bufferDrops.generator - a.bufferDrops.generator } : null,
  };
}

async function release(): Promise<null> {
  for (const s of sides) s.alloc.close();
  // The Refresh (lifetime 0) each close sends goes out before its socket closes.
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (const s of sides) s.link.close();
  for (const p of parties) p.close();
  sides = [];
  parties = [];
  return null;
}

async function run(job: RelayLoadJob): Promise<unknown> {
  switch (job.type) {
    case 'setup':
      return setup(job);
    case 'step':
      return step(job);
    case 'release':
      return release();
  }
}

process.on('message', (job: RelayLoadJob) => {
  run(job).then(
    (value) => process.send?.({ id: job.id, ok: true, value } satisfies Reply<unknown>),
    (err: Error) => process.send?.({ id: job.id, ok: false, error: err.message } satisfies Reply<unknown>),
  );
});
process.on('disconnect', () => process.exit(0));
