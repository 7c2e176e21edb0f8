import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { encodeStun, LineDecoder, STUN_BINDING_REQUEST, type ForwardOffer } from '../src/protocol';
import { startServer } from '../src/server';
import { Child, parleyServerEnv, realtime } from './signaling/children';
import { median, quantile } from './signaling/stats';

/**
 * The room forwarder's cost and capacity. parley-server runs in a process of its own (on CPU 0
 * when taskset can pin it), a generator in another (CPU 1): rooms of 8 members, each member
 * sending 20 ms frames (50 packets/s, 112-byte RTP) to the server's UDP port, which copies each to
 * the 7 others. The number of rooms rises in steps; per step, over `--reps` windows after a
 * warm-up: the server's CPU per packet in and per packet out (process.cpuUsage inside the
 * server), its share of a core, loss, and how many packets arrive more than 20 ms after they were
 * sent (sender and receiver are the same process: one clock). A step is good with loss and late
 * packets both under 1 %. Figures are medians over the windows; the JSON goes to
 * bench/results/forwarder.json.
 * Options: --steps 1,2,4,… (rooms) --seconds S (a window) --reps N --warmup S --members N --no-rr
 * (the children are not put under SCHED_RR).
 * Roles: with `server` or `generator` as its first argument it is that child.
 */

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i === -1 ? NaN : Number(process.argv[i + 1]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const FRAME_MS = 20;
const PAYLOAD_BYTES = 100;
const LATE_MS = 20;
const MAX_BAD_SHARE = 0.01;

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };
/** What the bench asks its children: the server (sample, stop) and the generator (the rest). */
type BenchReq =
  | { type: 'sample' }
  | { type: 'stop' }
  | { type: 'setup'; port: number; rooms: number; size: number; first: number }
  | { type: 'run' }
  | { type: 'window'; n: number }
  | { type: 'result'; n: number }
  | { type: 'release' };
type Req = BenchReq & { id: number };

function serve(handle: (req: Req) => Promise<unknown>): void {
  process.on('message', (req: Req) => {
    handle(req).then(
      (value) => process.send!({ id: req.id, ok: true, value } satisfies Reply),
      (err: Error) => process.send!({ id: req.id, ok: false, error: err.message } satisfies Reply),
    );
  });
  process.on('disconnect', () => process.exit(0));
}

// ---- the server child --------------------------------------------------------------------------

async function serverRole(): Promise<void> {
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    udpPort: 0,
    limits: { maxConnections: 100_000, maxConnectionsPerAddress: 100_000 },
  });
  serve(async (req) => {
    if (req.type === 'sample') {
      const cpu = process.cpuUsage();
      return { cpuMicros: cpu.user + cpu.system, forwarded: server.rooms.forwarder?.forwarded.packets ?? 0, rooms: server.rooms };
    }
    await server.close();
    setImmediate(() => process.exit(0));
    return null;
  });
  process.send!({ ready: true, port: server.port, udpPort: server.udpPort });
}

// ---- the generator child -----------------------------------------------------------------------

interface Member {
  tcp: net.Socket;
  udp: dgram.Socket;
  timer: NodeJS.Timeout | null;
  seq: number;
}

interface Window {
  sent: number;
  received: number;
  late: number;
  latencies: number[];
}

async function generatorRole(): Promise<void> {
  let members: Member[] = [];
  let udpPort = 0;
  /** Packets stamped with the current window's number count towards it; 0 is warm-up. */
  let windowNo = 0;
  const windows = new Map<number, Window>();
  const windowOf = (n: number) => {
    let w = windows.get(n);
    if (!w) windows.set(n, (w = { sent: 0, received: 0, late: 0, latencies: [] }));
    return w;
  };

  const onMedia = (p: Buffer) => {
    if (p.length < 12 + 9 || p[0] >> 6 !== 2) return;
    const w = p[12];
    if (w === 0) return;
    const latency = performance.now() - p.readDoubleBE(13);
    const win = windowOf(w);
    win.received++;
    if (latency > LATE_MS) win.late++;
    if ((win.received & 15) === 0) win.latencies.push(latency);
  };

  const join = (port: number, room: string, name: string): Promise<{ tcp: net.Socket; forward: ForwardOffer }> =>
    new Promise((resolve, reject) => {
      const tcp = net.connect({ host: '127.0.0.1', port });
      const decoder = new LineDecoder(1 << 20);
      tcp.on('error', reject);
      tcp.on('connect', () => {
        tcp.write(JSON.stringify({ type: 'hello', version: 1, name }) + '\n');
        tcp.write(JSON.stringify({ type: 'room.join', room, key: { key: 'a', identity: 'b', sig: 'c' } }) + '\n');
      });
      tcp.on('data', (chunk) =>
        decoder.push(chunk, (ev) => {
          if (ev.kind !== 'line') return;
          const m = JSON.parse(ev.line) as { type: string; forward?: ForwardOffer };
          if (m.type === 'error') reject(new Error(ev.line));
          if (m.type === 'room.joined') resolve({ tcp, forward: m.forward! });
        }),
      );
    });

  const register = (udp: dgram.Socket, f: ForwardOffer): Promise<void> =>
    new Promise((resolve, reject) => {
      const key = Buffer.from(f.password, 'utf8');
      const send = () => udp.send(encodeStun(STUN_BINDING_REQUEST, randomBytes(12), { username: f.username }, key), f.port, '127.0.0.1');
      const retry = setInterval(send, 200);
      const give = setTimeout(() => (clearInterval(retry), reject(new Error('no Binding success'))), 5000);
      udp.once('registered', () => {
        clearInterval(retry);
        clearTimeout(give);
        resolve();
      });
      send();
    });

  serve(async (req) => {
    if (req.type === 'setup') {
      const { port, rooms, size, first } = req;
      const joins: Promise<void>[] = [];
      for (let r = 0; r < rooms; r++) {
        for (let i = 0; i < size; i++) {
          joins.push(
            (async () => {
              const { tcp, forward } = await join(port, `bench-${first + r}`, `m${first + r}-${i}`);
              udpPort = forward.port;
              const udp = dgram.createSocket('udp4');
              await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
              udp.on('message', (p) => (p[0] === 1 ? udp.emit('registered') : onMedia(p)));
              await register(udp, forward);
              members.push({ tcp, udp, timer: null, seq: 0 });
            })(),
          );
        }
        // A few rooms at a time: the server's per-connection budgets are not what is measured.
        if (joins.length >= 64) await Promise.all(joins.splice(0));
      }
      await Promise.all(joins);
      return members.length;
    }
    if (req.type === 'run') {
      // Every member sends at its own phase, as independent clients do.
      for (const m of members) {
        const ssrc = randomBytes(4).readUInt32BE(0);
        const send = () => {
          const p = Buffer.allocUnsafe(12 + PAYLOAD_BYTES);
          p[0] = 0x80;
          p[1] = 111;
          p.writeUInt16BE(m.seq++ & 0xffff, 2);
          p.writeUInt32BE((m.seq * 960) >>> 0, 4);
          p.writeUInt32BE(ssrc, 8);
          p[12] = windowNo;
          p.writeDoubleBE(performance.now(), 13);
          p.fill(0x55, 21);
          if (windowNo) windowOf(windowNo).sent++;
          m.udp.send(p, udpPort, '127.0.0.1');
        };
        setTimeout(() => {
          send();
          m.timer = setInterval(send, FRAME_MS);
        }, Math.random() * FRAME_MS);
      }
      return null;
    }
    if (req.type === 'window') {
      windowNo = req.n;
      return null;
    }
    if (req.type === 'result') {
      const w = windowOf(req.n);
      const cpu = process.cpuUsage();
      return { sent: w.sent, received: w.received, late: w.late, p50: quantile(w.latencies, 0.5), p99: quantile(w.latencies, 0.99), cpuMicros: cpu.user + cpu.system };
    }
    if (req.type === 'release') {
      for (const m of members) {
        if (m.timer) clearInterval(m.timer);
        m.udp.close();
        m.tcp.destroy();
      }
      members = [];
      windows.clear();
      windowNo = 0;
      return null;
    }
    throw new Error(`not a generator request: ${req.type}`);
  });
  process.send!({ ready: true, port: 0 });
}

// ---- the bench -----------------------------------------------------------------------------------

interface StepFigures {
  rooms: number;
  members: number;
  /** Packets into the server per second (members × 50) and out of it (× members − 1). */
  inPps: number;
  outPps: number;
  /** What the generator managed to send of the 50 packets/s a member asked: below ~95 % the generator, not the server, was short of CPU. */
  sentShare: number;
  serverBusy: number;
  /** Server CPU per packet forwarded out, and per packet in (its fan-out of members − 1 sends), µs. */
  cpuPerForwardedMicros: number;
  cpuPerIncomingMicros: number;
  loss: number;
  lateShare: number;
  p50Ms: number;
  p99Ms: number;
  generatorBusy: number;
  /** Datagrams dropped at full receive buffers over the window, machine-wide (null off Linux). */
  bufferDrops: number | null;
  good: boolean;
}

async function main(): Promise<void> {
  const steps = (process.argv.includes('--steps') ? String(process.argv[process.argv.indexOf('--steps') + 1]) : '1,4,8,16,32,48,64,80,96,128')
    .split(',')
    .map(Number)
    .filter((x) => x > 0);
  const size = option('members', 8);
  const windowMs = option('seconds', 2) * 1000;
  const reps = option('reps', 3);
  const warmupMs = option('warmup', 1) * 1000;
  const pin = os.cpus().length >= 2;
  const file = __filename;
  const log = (s: string) => process.stdout.write(s + '\n');
  const { child: server, ready } = await Child.start<BenchReq, { ready: true; port: number }>(file, ['server'], { label: 'forwarder server', cpu: pin ? 0 : null, env: parleyServerEnv() });
  const { child: gen } = await Child.start<BenchReq>(file, ['generator'], { label: 'generator', cpu: pin ? 1 : null });
  const port = ready!.port;
  // The machine is shared: under SCHED_RR (as bench/relay.ts) other work cannot take the server's
  // or the generator's core from under them mid-window (needs root; otherwise nothing changes).
  const rr = !process.argv.includes('--no-rr') && realtime(server.pid) && realtime(gen.pid);
  const results: StepFigures[] = [];
  let first = 0;
  let bad = 0;
  const began = Date.now();
  log(`rooms of ${size}, ${FRAME_MS} ms frames of ${12 + PAYLOAD_BYTES} bytes; ${reps} windows of ${windowMs / 1000} s a step${pin ? '; server on CPU 0, generator on CPU 1' : ''}${rr ? ', both SCHED_RR' : ''}`);
  for (const rooms of steps) {
    if (Date.now() - began > 150_000) break;
    await gen.ask({ type: 'setup', port, rooms, size, first });
    first += rooms;
    await gen.ask({ type: 'run' });
    await sleep(warmupMs);
    const per: StepFigures[] = [];
    for (let n = 1; n <= reps; n++) {
      const s0 = await server.ask<{ cpuMicros: number; forwarded: number }>({ type: 'sample' });
      const g0 = await gen.ask<{ cpuMicros: number }>({ type: 'result', n: 255 });
      const drops0 = rcvbufErrors();
      await gen.ask({ type: 'window', n });
      const t0 = performance.now();
      await sleep(windowMs);
      await gen.ask({ type: 'window', n: 255 });
      const s1 = await server.ask<{ cpuMicros: number; forwarded: number }>({ type: 'sample' });
      const seconds = (performance.now() - t0) / 1000;
      await sleep(300);
      const drops1 = rcvbufErrors();
      const w = await gen.ask<{ sent: number; received: number; late: number; p50: number; p99: number; cpuMicros: number }>({ type: 'result', n });
      const cpu = s1.cpuMicros - s0.cpuMicros;
      const forwarded = s1.forwarded - s0.forwarded;
      const expected = w.sent * (size - 1);
      const loss = expected ? Math.max(0, 1 - w.received / expected) : 0;
      const lateShare = w.received ? w.late / w.received : 0;
      per.push({
        rooms,
        members: rooms * size,
        inPps: w.sent / seconds,
        outPps: forwarded / seconds,
        sentShare: w.sent / seconds / (rooms * size * (1000 / FRAME_MS)),
        serverBusy: cpu / (seconds * 1e6),
        cpuPerForwardedMicros: cpu / forwarded,
        cpuPerIncomingMicros: (cpu / forwarded) * (size - 1),
        loss,
        lateShare,
        p50Ms: w.p50,
        p99Ms: w.p99,
        generatorBusy: (w.cpuMicros - g0.cpuMicros) / ((seconds + 0.3) * 1e6),
        bufferDrops: drops0 === null || drops1 === null ? null : drops1 - drops0,
        good: loss < MAX_BAD_SHARE && lateShare < MAX_BAD_SHARE,
      });
    }
    await gen.ask({ type: 'release' });
    const m = (k: keyof StepFigures) => median(per.map((p) => p[k] as number));
    const step: StepFigures = {
      rooms,
      members: rooms * size,
      inPps: m('inPps'),
      outPps: m('outPps'),
      sentShare: m('sentShare'),
      serverBusy: m('serverBusy'),
      cpuPerForwardedMicros: m('cpuPerForwardedMicros'),
      cpuPerIncomingMicros: m('cpuPerIncomingMicros'),
      loss: m('loss'),
      lateShare: m('lateShare'),
      p50Ms: m('p50Ms'),
      p99Ms: m('p99Ms'),
      generatorBusy: m('generatorBusy'),
      bufferDrops: per[0].bufferDrops === null ? null : m('bufferDrops'),
      good: false,
    };
    step.good = step.loss < MAX_BAD_SHARE && step.lateShare < MAX_BAD_SHARE;
    results.push(step);
    log(
      `${String(rooms).padStart(3)} rooms (${String(step.members).padStart(4)} members): in ${Math.round(step.inPps)} pps (${Math.round(step.sentShare * 100)} % of asked), out ${Math.round(step.outPps)} pps; ` +
        `server ${(step.serverBusy * 100).toFixed(0)} % of a core, ${step.cpuPerForwardedMicros.toFixed(2)} µs per packet out (${step.cpuPerIncomingMicros.toFixed(1)} µs per packet in); ` +
        `loss ${(step.loss * 100).toFixed(2)} %, late ${(step.lateShare * 100).toFixed(2)} %, latency p50 ${step.p50Ms.toFixed(2)} ms p99 ${step.p99Ms.toFixed(2)} ms; generator ${(step.generatorBusy * 100).toFixed(0)} %` +
        (step.bufferDrops ? `; ${step.bufferDrops} dropped at full receive buffers` : '') +
        (step.good ? '' : '  ← over'),
    );
    if (!step.good && ++bad >= 2) break;
    // Rooms are not reused: the next step's members join rooms of their own.
  }
  await gen.stop();
  await server.stop();
  const good = results.filter((r) => r.good);
  const best = good.length ? good[good.length - 1] : null;
  // The cost per packet at the largest good step: fixed costs (timers, the sweep) spread thinnest there.
  const moderate = best ?? results[results.length - 1];
  const summary = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: os.cpus()[0]?.model,
    roomSize: size,
    sched: rr ? 'rr' : 'none',
    frameMs: FRAME_MS,
    packetBytes: 12 + PAYLOAD_BYTES,
    /** The most members forwarded with loss and late packets under 1 %. */
    maxMembers: best?.members ?? 0,
    maxMembersServerBusy: best?.serverBusy ?? 0,
    /** What a whole core would forward at the cost per packet in measured at the largest good step (50 packets/s a member). */
    cpuBoundMembers: moderate ? Math.floor(1e6 / (moderate.cpuPerIncomingMicros * (1000 / FRAME_MS))) : 0,
    cpuPerForwardedMicros: moderate?.cpuPerForwardedMicros ?? 0,
    steps: results,
  };
  log(
    `forwarder: ${summary.maxMembers} members (${summary.maxMembers / size} rooms) with < 1 % loss and late; ` +
      `${summary.cpuPerForwardedMicros.toFixed(2)} µs of server CPU per packet out, so one core ≈ ${summary.cpuBoundMembers} members at that cost`,
  );
  const out = path.resolve(__dirname, '../../bench/results/forwarder.json');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(summary, null, 2) + '\n');
  log(`wrote ${out}`);
}

/** Datagrams the kernel dropped at full receive buffers, machine-wide (Linux), or null. */
function rcvbufErrors(): number | null {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp: '));
    const names = lines[0].split(/\s+/);
    return Number(lines[1].split(/\s+/)[names.indexOf('RcvbufErrors')]);
  } catch {
    return null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const role = process.argv[2];
(role === 'server' ? serverRole() : role === 'generator' ? generatorRole() : main()).catch((err: Error) => {
  process.stderr.write(`forwarder bench${role ? ` ${role}` : ''}: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
