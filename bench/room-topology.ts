/**
 * Mesh or forward, by room size: for rooms of 2, 3, 4, 5, 6 and 8 members on one machine (a
 * real parley-server, real phones, Opus 20 ms with RED 2), each topology in turn. One member
 * runs in its own process and is measured there: its upload (packets and bytes per second on
 * the wire, IPv4/UDP headers added for the kbit/s) and its CPU per second of audio
 * (process.cpuUsage). The other members and the server share this process; the forwarder's
 * copies per second are read from its counters. MESH_MAX (src/client/room/room-terms.ts) is
 * chosen from these figures. Writes bench/results/room-topology.json.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { NullSink, ToneSource } from '../src/audio';
import { Phone, type RoomSession } from '../src/client/phone';
import { startServer, type RunningServer } from '../src/server';
import type { TopologyChildRequest } from './room-topology-child';

const SIZES = [2, 3, 4, 5, 6, 8];
const TOPOLOGIES = ['mesh', 'forward'] as const;
const WARMUP_MS = 1500;
const SECONDS = 3;
/** IPv4 (20) and UDP (8) headers: what an uplink carries besides each datagram. */
const HEADERS = 28;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function next(child: ChildProcess, type: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const on = (m: { type: string }) => {
      if (m.type !== type) return;
      child.off('message', on);
      child.off('exit', onExit);
      resolve(m as unknown as Record<string, unknown>);
    };
    const onExit = (code: number) => reject(new Error(`the measured member exited (${code}) before ${type}`));
    child.on('message', on);
    child.once('exit', onExit);
  });
}

function started(room: RoomSession): Promise<void> {
  return new Promise((r) => room.once('started', () => r()));
}

async function measure(server: RunningServer, size: number, topology: 'mesh' | 'forward') {
  const id = `${topology}-${size}`;
  const phones: Phone[] = [];
  const rooms: RoomSession[] = [];
  const local = async (name: string) => {
    const p = await Phone.connect({ server: { host: '127.0.0.1', port: server.port }, udpHost: '127.0.0.1', codecs: ['opus'], stun: false, relay: 'off' });
    phones.push(p);
    await p.register(name);
    rooms.push(await p.enterRoom('join', id, { input: new ToneSource(300 + 97 * phones.length, 0.2), output: new NullSink() }));
  };
  await local(`owner-${id}`);
  const child = fork(path.join(__dirname, 'room-topology-child.js'));
  const joined = next(child, 'joined');
  child.send({ type: 'join', port: server.port, room: id, name: `measured-${id}` } satisfies TopologyChildRequest);
  await joined;
  for (let i = 2; i < size; i++) await local(`m${i}-${id}`);
  while (rooms[0].members.length < size) await sleep(20);
  const everyone = [...rooms.map(started), next(child, 'started')];
  await rooms[0].start({ topology });
  await Promise.all(everyone);
  await sleep(WARMUP_MS);
  const before = server.rooms.forwarder!.forwarded.packets;
  const measured = next(child, 'measured');
  child.send({ type: 'measure', seconds: SECONDS } satisfies TopologyChildRequest);
  const r = (await measured) as { topology: string; cpuMsPerSecond: number; uploadPacketsPerSecond: number; uploadBytesPerSecond: number; pairs: Record<string, string> };
  const forwardedPerSecond = (server.rooms.forwarder!.forwarded.packets - before) / SECONDS;
  child.send({ type: 'exit' } satisfies TopologyChildRequest);
  await new Promise((res) => child.once('exit', res));
  await Promise.all(phones.map((p) => p.close()));
  const pairsUp = Object.values(r.pairs).filter((s) => s === 'connected').length;
  return {
    members: size,
    topology: r.topology,
    pairsConnected: pairsUp,
    uploadPacketsPerSecond: round(r.uploadPacketsPerSecond),
    uploadKbitPerSecond: round(((r.uploadBytesPerSecond + HEADERS * r.uploadPacketsPerSecond) * 8) / 1000),
    cpuMsPerAudioSecond: round(r.cpuMsPerSecond, 2),
    serverForwardedPerSecond: round(forwardedPerSecond),
  };
}

async function main(): Promise<void> {
  const server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error', resumeGraceMs: 0 });
  const results = [];
  try {
    for (const size of SIZES) for (const topology of TOPOLOGIES) results.push(await measure(server, size, topology));
  } finally {
    await server.close();
  }
  console.log('members  topology  upload pkt/s  upload kbit/s (with IP/UDP)  client CPU ms per s of audio  server copies/s');
  for (const r of results) {
    console.log(
      `${String(r.members).padStart(7)}  ${r.topology.padEnd(8)}  ${String(r.uploadPacketsPerSecond).padStart(12)}  ${String(r.uploadKbitPerSecond).padStart(27)}  ${String(r.cpuMsPerAudioSecond).padStart(28)}  ${String(r.serverForwardedPerSecond).padStart(15)}`,
    );
  }
  const dir = path.join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'room-topology.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, codec: 'opus 20 ms, RED 2', seconds: SECONDS, results }, null, 2) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
