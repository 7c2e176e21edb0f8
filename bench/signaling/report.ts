import type { ServerKind } from './ipc';
import { median } from './stats';

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
  /** The part of that CPU time spent in the kernel (system time). */
  serverSystemShare: number;
  /** Share of one core the server used during the job. */
  serverBusy: number;
  generatorBusy: number;
  /** Cores' worth of CPU that processes outside the bench used meanwhile (a shared machine). */
  othersBusy: number;
}

/** One repetition's figures for one server. */
export interface RepFigures {
  memory: MemoryFigures;
  calls: CallFigures;
}

export interface Target {
  what: string;
  ratio: number;
  /** e.g. '≤ 0.5×' */
  goal: string;
  pass: boolean;
}

export type PerServer<T> = Record<ServerKind, T>;
export type Reference = Exclude<ServerKind, 'parley'>;
export const REFERENCES: Reference[] = ['socketio-min', 'socketio', 'ndjson-min'];
/** The references the targets are set against; ndjson-min is the floor, for comparison. */
export const TARGET_REFERENCES: Reference[] = ['socketio-min', 'socketio'];
/** Every server of the bench, in the table's order. */
export const SERVERS: ServerKind[] = ['parley', ...REFERENCES];
const LABELS: Record<ServerKind, string> = { parley: 'parley', 'socketio-min': 'Socket.IO min', socketio: 'Socket.IO', 'ndjson-min': 'NDJSON min' };

/** A ratio's median over the repetitions and its range. */
export interface RatioStat {
  median: number;
  min: number;
  max: number;
  reps: number[];
}
export type Ratios = Record<'cpu' | 'rate' | 'p50' | 'p99' | 'memory', RatioStat>;

const FIGURES: Record<keyof Ratios, (f: RepFigures) => number> = {
  cpu: (f) => f.calls.serverCpuPerSetupMicros,
  rate: (f) => f.calls.setupsPerSec,
  p50: (f) => f.calls.p50Ms,
  p99: (f) => f.calls.p99Ms,
  memory: (f) => f.memory.bytesPerClient,
};

/** parley's figure over each reference's, repetition by repetition (both measured in the same one). */
export function ratioStats(reps: PerServer<RepFigures>[]): Record<Reference, Ratios> {
  const of = (ref: Reference) =>
    Object.fromEntries(
      (Object.keys(FIGURES) as (keyof Ratios)[]).map((k) => {
        const xs = reps.map((r) => FIGURES[k](r.parley) / FIGURES[k](r[ref]));
        return [k, { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), reps: xs }];
      }),
    ) as Ratios;
  return Object.fromEntries(REFERENCES.map((ref) => [ref, of(ref)])) as Record<Reference, Ratios>;
}

const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
const ms = (x: number) => `${x.toFixed(2)} ms`;
const pct = (x: number) => (Number.isNaN(x) ? '?' : `${Math.round(x * 100)} %`);
const ratio = (x: number) => `${x.toFixed(2)}×`;
const span = (r: RatioStat) => `${ratio(r.median)} (${r.min.toFixed(2)}–${r.max.toFixed(2)})`;

/** The readable table: one row per figure, the servers side by side, then the ratios to each reference and the targets. */
export function renderTable(
  mem: PerServer<MemoryFigures>,
  calls: PerServer<CallFigures>,
  ratios: Record<Reference, Ratios>,
  targets: Target[],
  reps: number,
): string {
  const row = (label: string, f: (k: ServerKind) => string, r?: keyof Ratios): string[] => [
    label,
    ...SERVERS.map(f),
    ...REFERENCES.map((ref) => (r ? span(ratios[ref][r]) : '')),
  ];
  const rows: string[][] = [
    ['', ...SERVERS.map((k) => LABELS[k]), ...REFERENCES.map((ref) => `parley/${LABELS[ref]}`)],
    row('Registered clients', (k) => `${mem[k].clients}`),
    row('RSS with all registered', (k) => mib(mem[k].rssAfter)),
    row(`Memory per client (RSS)`, (k) => kib(mem[k].bytesPerClient), 'memory'),
    row('Heap per client', (k) => kib((mem[k].heapAfter - mem[k].heapBefore) / mem[k].clients)),
    row('Server CPU per set-up', (k) => `${calls[k].serverCpuPerSetupMicros.toFixed(1)} µs`, 'cpu'),
    row('Call set-ups/s', (k) => calls[k].setupsPerSec.toFixed(0), 'rate'),
    row('Set-up latency p50', (k) => ms(calls[k].p50Ms), 'p50'),
    row('Set-up latency p99', (k) => ms(calls[k].p99Ms), 'p99'),
    row('… of it in the kernel', (k) => pct(calls[k].serverSystemShare)),
    row('Server busy (one core)', (k) => pct(calls[k].serverBusy)),
    row('Generator busy (one core)', (k) => pct(calls[k].generatorBusy)),
    row('Other processes meanwhile', (k) => pct(calls[k].othersBusy)),
    row('Errors', (k) => `${calls[k].errors}`),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('   ');
  const out = rows.map(line);
  out.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('   '));
  out.push(`(medians of ${reps} repetitions; ratios: median of the per-repetition ratios, range in brackets)`);
  out.push('');
  for (const t of targets) out.push(`${t.pass ? 'PASS' : 'MISS'}  ${t.what}: ${ratio(t.ratio)} (target ${t.goal})`);
  return out.join('\n');
}
