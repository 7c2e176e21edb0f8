import type { ServerKind } from './ipc';

export interface MemoryFigures {
  clients: number;
  rssBefore: number;
  rssAfter: number;
  heapBefore: number;
  heapAfter: number;
  bytesPerClient: number;
  connectMs: number;
}

export interface CallFigures {
  setupsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Server CPU time per set-up (warm-up included), µs. */
  serverCpuPerSetupMicros: number;
  /** Share of one core the server used during the job. */
  serverBusy: number;
  generatorBusy: number;
  /** Cores' worth of CPU that processes outside the bench used meanwhile (a shared machine). */
  othersBusy: number;
}

export interface Target {
  what: string;
  ratio: number;
  /** e.g. '≤ 0.5×' */
  goal: string;
  pass: boolean;
}

export type PerServer<T> = Record<ServerKind, T>;

const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
const ms = (x: number) => `${x.toFixed(2)} ms`;
const pct = (x: number) => (Number.isNaN(x) ? '?' : `${Math.round(x * 100)} %`);
const ratio = (x: number) => `${x.toFixed(2)}×`;

/** The readable table: one row per figure, both servers side by side, then the targets. */
export function renderTable(
  mem: PerServer<MemoryFigures>,
  calls: PerServer<CallFigures>,
  targets: Target[],
  reps: { reps: number; memoryReps: number },
): string {
  const rows: [string, string, string, string][] = [
    ['', 'parley', 'Socket.IO', 'parley/Socket.IO'],
    ['Registered clients', `${mem.parley.clients}`, `${mem.socketio.clients}`, ''],
    ['RSS before connections', mib(mem.parley.rssBefore), mib(mem.socketio.rssBefore), ''],
    ['RSS with all registered', mib(mem.parley.rssAfter), mib(mem.socketio.rssAfter), ''],
    [`Memory per client (RSS, median of ${reps.memoryReps})`, kib(mem.parley.bytesPerClient), kib(mem.socketio.bytesPerClient), ratio(mem.parley.bytesPerClient / mem.socketio.bytesPerClient)],
    ['Heap per client', kib((mem.parley.heapAfter - mem.parley.heapBefore) / mem.parley.clients), kib((mem.socketio.heapAfter - mem.socketio.heapBefore) / mem.socketio.clients), ''],
    [`Call set-ups/s (median of ${reps.reps})`, calls.parley.setupsPerSec.toFixed(0), calls.socketio.setupsPerSec.toFixed(0), ratio(calls.parley.setupsPerSec / calls.socketio.setupsPerSec)],
    ['Set-up latency p50', ms(calls.parley.p50Ms), ms(calls.socketio.p50Ms), ratio(calls.parley.p50Ms / calls.socketio.p50Ms)],
    ['Set-up latency p99', ms(calls.parley.p99Ms), ms(calls.socketio.p99Ms), ratio(calls.parley.p99Ms / calls.socketio.p99Ms)],
    ['Server CPU per set-up', `${calls.parley.serverCpuPerSetupMicros.toFixed(1)} µs`, `${calls.socketio.serverCpuPerSetupMicros.toFixed(1)} µs`, ratio(calls.parley.serverCpuPerSetupMicros / calls.socketio.serverCpuPerSetupMicros)],
    ['Server busy (one core)', pct(calls.parley.serverBusy), pct(calls.socketio.serverBusy), ''],
    ['Generator busy (one core)', pct(calls.parley.generatorBusy), pct(calls.socketio.generatorBusy), ''],
    ['Other processes meanwhile', pct(calls.parley.othersBusy), pct(calls.socketio.othersBusy), ''],
    ['Errors', `${calls.parley.errors}`, `${calls.socketio.errors}`, ''],
  ];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('   ');
  const out = rows.map(line);
  out.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('   '));
  out.push('');
  for (const t of targets) out.push(`${t.pass ? 'PASS' : 'MISS'}  ${t.what}: ${ratio(t.ratio)} (target ${t.goal})`);
  return out.join('\n');
}
