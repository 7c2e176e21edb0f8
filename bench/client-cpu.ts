/**
 * CPU and peak memory of one client in a call, parley against baresip, in one run on one machine.
 *
 * Each system: two clients in their own processes calling each other over 127.0.0.1, a WAV of a
 * speech-like signal as the microphone, no playback device, Opus 20 ms. baresip 1.0: two
 * instances, each with its own config dir, `aufile` source, `aubridge` as a paced sink, direct
 * call to sip:b@127.0.0.1:PORT, the callee answering by itself. parley: two bench/client-cpu-child
 * processes and a parley-server in this process, in four modes. Per client: user+system time of
 * the whole process from /proc/PID/stat over the measurement window after a warm-up, as % of one
 * core, and VmHWM from /proc/PID/status. Repetitions interleave the systems so drift hits all.
 *
 * A third row, when gcc and libopus-dev are here: bench/native-loop.c, the same per-frame Opus and
 * UDP work in C on one thread (no jitter buffer, encryption or playback): what the media loop
 * would cost at least taken out of the JavaScript event loop. A fourth: bench/node-loop.ts, the
 * same again in plain Node (no parley): what any Node client costs at least.
 *
 * Options: --reps N (3), --measure S (15), --warmup S (3), --pin (caller on CPU 0, callee on CPU
 * 1, via taskset, for all systems), --modes a,b,c,d, --no-baresip, --no-native, --no-node-loop, --node-flags "FLAGS" (for the
 * parley clients' node, to try runtime settings; by default the ones `bin/parley` starts node with).
 * Writes bench/results/client-cpu.json.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from '../src/server';
import { speechLike } from '../src/audio/signals';
import { encodeWav } from '../src/audio/wav';
import { round, sleep } from './media-harness';

const BARESIP = '/usr/bin/baresip';
const TICKS_PER_S = 100; // USER_HZ: /proc/PID/stat counts in 1/100 s on Linux
/** Long enough for the warm-up and the window (and the start-up before them): both systems hold the file in memory. */
const FILE_S_MIN = 30;

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const REPS = Number(option('reps', '3'));
const MEASURE_S = Number(option('measure', '15'));
const WARMUP_S = Number(option('warmup', '3'));
const PIN = flag('pin');
/** The node options on `bin/parley`'s first line (`#!/usr/bin/env -S node FLAGS`): the client as users run it. */
function parleyNodeFlags(): string {
  const first = readFileSync(path.join(__dirname, '..', '..', 'bin', 'parley'), 'utf8').split('\n')[0];
  return first.replace(/^#!.*?\bnode\b/, '').trim();
}
const NODE_FLAGS = option('node-flags', parleyNodeFlags()).split(' ').filter(Boolean);

interface Mode {
  key: string;
  label: string;
  input: 'speech' | 'half';
  voice: { aec: boolean; ns: boolean; agc: boolean; dtx: boolean };
  /** The caller mutes; only it is reported. */
  muted?: boolean;
}

const MODES: Mode[] = [
  { key: 'a', label: 'parley, no processing', input: 'speech', voice: { aec: false, ns: false, agc: false, dtx: false } },
  { key: 'b', label: 'parley, AEC+NS+AGC', input: 'speech', voice: { aec: true, ns: true, agc: true, dtx: false } },
  { key: 'c', label: 'parley, muted', input: 'speech', voice: { aec: false, ns: false, agc: false, dtx: false }, muted: true },
  { key: 'd', label: 'parley, 50 % silence, suppression on', input: 'half', voice: { aec: false, ns: false, agc: false, dtx: true } },
];

/** utime + stime of a process (all its threads), in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

/** Peak resident set (VmHWM), MB. */
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface Sample {
  role: 'caller' | 'callee';
  cpuPercent: number;
  peakRssMb: number;
}

/** Measures processes already in a call: warm-up, then CPU over the window, then peak RSS. */
async function measurePids(pids: { role: 'caller' | 'callee'; pid: number }[]): Promise<Sample[]> {
  await sleep(WARMUP_S * 1000);
  const t0 = performance.now();
  const c0 = pids.map((p) => cpuSeconds(p.pid));
  await sleep(MEASURE_S * 1000);
  const c1 = pids.map((p) => cpuSeconds(p.pid));
  const wall = (performance.now() - t0) / 1000;
  return pids.map((p, i) => ({ role: p.role, cpuPercent: (100 * (c1[i] - c0[i])) / wall, peakRssMb: peakRssMb(p.pid) }));
}

function pinned(core: number, cmd: string, args: string[]): [string, string[]] {
  return PIN ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args];
}

function waitFor(child: ChildProcess, text: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no "${text}" within ${ms} ms: ${seen.slice(-500)}`)), ms);
    child.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.length > 20_000) seen = seen.slice(-10_000);
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
}

function baresipConfig(dir: string, name: string, port: number, wav: string): void {
  mkdirSync(dir, { recursive: true });
  const config = [
    'poll_method epoll',
    `sip_listen 127.0.0.1:${port}`,
    `audio_player aubridge,sink-${name}`,
    `audio_source aufile,${wav}`,
    `audio_alert aubridge,alert-${name}`,
    'ausrc_format s16',
    'auplay_format s16',
    'auenc_format s16',
    'audec_format s16',
    'rtcp_mux no',
    'jitter_buffer_delay 5-10',
    'module_path /usr/lib/baresip/modules',
    'module opus.so',
    'module aufile.so',
    'module aubridge.so',
    'module_tmp account.so',
    'module_app menu.so',
    'statmode_default off',
    'opus_bitrate 28000',
    'opus_stereo no',
    'opus_sprop_stereo no',
  ];
  writeFileSync(path.join(dir, 'config'), config.join('\n') + '\n');
  writeFileSync(path.join(dir, 'accounts'), `<sip:${name}@127.0.0.1:${port}>;regint=0;answermode=auto;audio_codecs=opus;ptime=20\n`);
}

async function baresipRun(work: string, wav: string, rep: number): Promise<Sample[]> {
  const base = 20000 + ((process.pid * 7 + rep * 40) % 20000);
  const [pa, pb] = [base, base + 20];
  baresipConfig(path.join(work, 'a'), 'a', pa, wav);
  baresipConfig(path.join(work, 'b'), 'b', pb, wav);
  const [bc, ba] = pinned(1, BARESIP, ['-f', path.join(work, 'b')]);
  const callee = spawn(bc, ba, { stdio: ['ignore', 'pipe', 'pipe'] });
  const calleeReady = waitFor(callee, 'baresip is ready', 10_000);
  const calleeUp = waitFor(callee, 'Call established', 20_000);
  await calleeReady;
  const [ac, aa] = pinned(0, BARESIP, ['-f', path.join(work, 'a'), '-e', `/dial sip:b@127.0.0.1:${pb}`]);
  const caller = spawn(ac, aa, { stdio: ['ignore', 'pipe', 'pipe'] });
  const callerUp = waitFor(caller, 'Call established', 20_000);
  return measurePair(caller, callee, Promise.all([calleeUp, callerUp]));
}

/** Once both are `up`, measures the pair; then ends both processes, whatever happened. */
async function measurePair(caller: ChildProcess, callee: ChildProcess, up: Promise<unknown>): Promise<Sample[]> {
  try {
    await up;
    return await measurePids([
      { role: 'caller', pid: caller.pid! },
      { role: 'callee', pid: callee.pid! },
    ]);
  } finally {
    caller.kill('SIGTERM');
    callee.kill('SIGTERM');
    await Promise.all([exited(caller), exited(callee)]);
  }
}

/** bench/native-loop.c built into `work`: the binary's path, or why there is none. */
function buildNativeLoop(work: string): { bin: string } | { unavailable: string } {
  const source = path.join(__dirname, '..', '..', 'bench', 'native-loop.c');
  const bin = path.join(work, 'native-loop');
  const r = spawnSync('cc', ['-O2', '-o', bin, source, '-lopus'], { encoding: 'utf8' });
  if (r.error) return { unavailable: `no C compiler (${r.error.message}): npm run setup:bench` };
  if (r.status !== 0) return { unavailable: `it did not build (npm run setup:bench installs libopus-dev): ${r.stderr.trim().split('\n')[0]}` };
  return { bin };
}

/** The plain Node twin of the native loop (bench/node-loop.ts), with the parley clients' node flags. */
const NODE_LOOP = [process.execPath, ...NODE_FLAGS, path.join(__dirname, 'node-loop.js')];

/** Two loops (`command WAV LOCAL_PORT PEER_PORT`: the native one or its Node twin) calling each other, measured. */
async function loopRun(command: string[], wav: string, rep: number): Promise<Sample[]> {
  const base = 40000 + ((process.pid * 7 + rep * 40) % 20000);
  const [bin, ...pre] = command;
  const [cc, ca] = pinned(1, bin, [...pre, wav, String(base + 1), String(base)]);
  const [ac, aa] = pinned(0, bin, [...pre, wav, String(base), String(base + 1)]);
  const callee = spawn(cc, ca, { stdio: ['ignore', 'pipe', 'inherit'] });
  const caller = spawn(ac, aa, { stdio: ['ignore', 'pipe', 'inherit'] });
  const said = [callee, caller].map((c) => {
    let text = '';
    c.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    return () => text;
  });
  const samples = await measurePair(caller, callee, Promise.all([waitFor(callee, 'ready', 5000), waitFor(caller, 'ready', 5000)]));
  // Each side must have heard the other for the figures to be of a call.
  for (const text of said) {
    const m = /sent (\d+) decoded (\d+)/.exec(text());
    if (!m || Number(m[2]) < Number(m[1]) / 2) throw new Error(`${path.basename(command[command.length - 1])}: the two sides did not exchange audio (${text().trim() || 'no report'})`);
  }
  return samples;
}

function next(child: ChildProcess, type: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const on = (m: { type: string }) => {
      if (m.type !== type) return;
      child.off('message', on);
      child.off('exit', gone);
      resolve(m as unknown as Record<string, unknown>);
    };
    const gone = (code: number | null) => reject(new Error(`client exited (${code}) before "${type}"`));
    child.on('message', on);
    child.once('exit', gone);
  });
}

function client(core: number, args: object): ChildProcess {
  const [cmd, argv] = pinned(core, process.execPath, [...NODE_FLAGS, path.join(__dirname, 'client-cpu-child.js'), JSON.stringify(args)]);
  return spawn(cmd, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

async function parleyRun(mode: Mode, wavs: Record<Mode['input'], string>): Promise<{ samples: Sample[]; active: unknown }> {
  const server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error' });
  const common = { port: server.port, input: wavs[mode.input], voice: mode.voice };
  const callee = client(1, { ...common, name: 'callee', muted: false });
  const caller = client(0, { ...common, name: 'caller', peer: 'callee', muted: !!mode.muted });
  try {
    await Promise.all([next(callee, 'ready'), next(caller, 'ready')]);
    const up = Promise.all([next(caller, 'in-call'), next(callee, 'in-call')]);
    caller.send({ type: 'dial' });
    const [callerInfo] = await up;
    let samples = await measurePids([
      { role: 'caller', pid: caller.pid! },
      { role: 'callee', pid: callee.pid! },
    ]);
    if (mode.muted) samples = samples.filter((s) => s.role === 'caller');
    return { samples, active: callerInfo.active };
  } finally {
    for (const c of [caller, callee]) if (c.connected) c.send({ type: 'exit' });
    const bye = Promise.all([exited(caller), exited(callee)]);
    const timer = setTimeout(() => [caller, callee].forEach((c) => c.kill('SIGKILL')), 5000);
    await bye;
    clearTimeout(timer);
    await server.close();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'client-cpu-'));
  const speech = speechLike(7, Math.max(FILE_S_MIN, WARMUP_S + MEASURE_S + 15) * 1000);
  const half = speech.slice();
  for (let i = 0; i < half.length; i++) if (Math.floor(i / 48_000) % 2 === 1) half[i] = 0; // 1 s on, 1 s off
  const wavs = { speech: path.join(work, 'speech.wav'), half: path.join(work, 'half.wav') };
  writeFileSync(wavs.speech, encodeWav(speech));
  writeFileSync(wavs.half, encodeWav(half));

  const wanted = option('modes', 'a,b,c,d').split(',');
  const modes = MODES.filter((m) => wanted.includes(m.key));
  const withBaresip = !flag('no-baresip') && existsSync(BARESIP);
  if (!withBaresip) console.log(`baresip: skipped (${existsSync(BARESIP) ? '--no-baresip' : `${BARESIP} missing: apt-get install baresip-core`})`);
  const native = flag('no-native') ? { unavailable: '--no-native' } : buildNativeLoop(work);
  if ('unavailable' in native) console.log(`native loop: skipped (${native.unavailable})`);
  const rows: { key: string; label: string; samples: Sample[]; active?: unknown }[] = [];
  if (withBaresip) rows.push({ key: 'baresip', label: 'baresip 1.0, no processing', samples: [] });
  if ('bin' in native) rows.push({ key: 'native', label: 'native loop (C, no Node): Opus 20 ms both ways', samples: [] });
  if (!flag('no-node-loop')) rows.push({ key: 'node', label: 'Node loop (the same in plain Node, no parley)', samples: [] });
  for (const m of modes) rows.push({ key: m.key, label: m.label, samples: [] });

  try {
    for (let rep = 0; rep < REPS; rep++) {
      for (const row of rows) {
        const before = row.samples.length;
        if (row.key === 'baresip') {
          row.samples.push(...(await baresipRun(path.join(work, `baresip-${rep}`), wavs.speech, rep)));
        } else if (row.key === 'native' && 'bin' in native) {
          row.samples.push(...(await loopRun([native.bin], wavs.speech, rep)));
        } else if (row.key === 'node') {
          row.samples.push(...(await loopRun(NODE_LOOP, wavs.speech, rep)));
        } else {
          const r = await parleyRun(modes.find((m) => m.key === row.key)!, wavs);
          row.samples.push(...r.samples);
          row.active = r.active;
        }
        const last = row.samples.slice(before).map((s) => `${s.role} ${round(s.cpuPercent, 2)} % ${round(s.peakRssMb)} MB`);
        console.log(`rep ${rep + 1}/${REPS} ${row.label}: ${last.join(', ')}`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const reference = rows.find((r) => r.key === 'baresip');
  const refMedian = reference ? median(reference.samples.map((s) => s.cpuPercent)) : NaN;
  const results = rows.map((r) => {
    const cpu = r.samples.map((s) => s.cpuPercent);
    const med = median(cpu);
    const mode = MODES.find((m) => m.key === r.key);
    return {
      key: r.key,
      label: r.label,
      cpuPercentMedian: round(med, 2),
      cpuPercentMin: round(Math.min(...cpu), 2),
      cpuPercentMax: round(Math.max(...cpu), 2),
      peakRssMb: round(Math.max(...r.samples.map((s) => s.peakRssMb))),
      ratioToBaresip: reference ? round(med / refMedian, 2) : null,
      voiceRequested: mode?.voice ?? null,
      voiceActive: r.active ?? null,
      samples: r.samples.map((s) => ({ ...s, cpuPercent: round(s.cpuPercent, 3), peakRssMb: round(s.peakRssMb, 1) })),
    };
  });

  console.log(`\nOne client in a call, Opus 20 ms, ${REPS} reps × ${MEASURE_S} s after ${WARMUP_S} s warm-up${PIN ? ', pinned (caller CPU 0, callee CPU 1)' : ''}${NODE_FLAGS.length ? `, parley clients' node flags ${NODE_FLAGS.join(' ')}` : ''}; both clients of each call are samples (muted: the muted one only)\n`);
  console.log('| client | CPU % of one core, median | range | peak RSS MB | × baresip CPU |');
  console.log('|---|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.label} | ${r.cpuPercentMedian} | ${r.cpuPercentMin}–${r.cpuPercentMax} | ${r.peakRssMb} | ${r.ratioToBaresip ?? '–'} |`);
  }
  for (const r of results) {
    if (r.voiceRequested) console.log(`${r.label}: voice settings ${JSON.stringify(r.voiceRequested)}; active as reported by the call: ${r.voiceActive === null ? 'not exposed' : JSON.stringify(r.voiceActive)}`);
  }

  const dir = path.join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const meta = { date: new Date().toISOString(), reps: REPS, measureS: MEASURE_S, warmupS: WARMUP_S, pinned: PIN, node: process.version, nodeFlags: NODE_FLAGS };
  writeFileSync(path.join(dir, 'client-cpu.json'), JSON.stringify({ ...meta, results }, null, 2) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
