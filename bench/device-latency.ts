/**
 * What the real device backends add to mouth-to-ear latency, measured through a device that
 * keeps real time: a private PulseAudio daemon (bench/device/pulse.ts) that ALSA's default pcm
 * is routed to. Capture: clicks written in real time into a pipe source, against the moment our
 * microphone hands them on. Playback: clicks handed to our speaker, against the moment the
 * system-clocked pipe sink plays them. Capture is set beside parec at 1 ms, PulseAudio's own
 * share; playback beside pacat, which buffers its stdin and so is shown but not subtracted. Prints a table and writes
 * bench/results/device-latency.json; without PulseAudio it says what to install and exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { AplaySink, FrameClock, MicSource, PulseSink, PulseSource, SpeakerSink, int16ToLE, leToInt16, type AudioSink } from '../src/audio';
import { ALSA_PERIOD_US } from '../src/audio/alsa';
import { percentile, round, sleep } from './media-harness';
import { CLICK_PERIOD_MS, ClickDetector, ClickTrain, MouthWriter, matchClicks } from './device/clicks';
import { INSTALL, PulseDaemon, missingPieces } from './device/pulse';

const RATE = 48000;
const FRAME_MS = 20;
const WARM_UP_MS = 1500;
const MEASURE_MS = 8000;
/** Asked of the reference clients: PulseAudio's floor, not a setting anyone would ship. */
const REF_LATENCY_MS = 1;
const PCM_ARGS = ['--raw', '--format=s16le', `--rate=${RATE}`, '--channels=1', `--latency-msec=${REF_LATENCY_MS}`];

interface Running {
  stop(): Promise<void>;
}

interface Row {
  direction: 'capture' | 'playback';
  path: string;
  reference: boolean;
  clicksSent: number;
  clicksHeard: number;
  medianMs: number;
  p95Ms: number;
  minMs: number;
  maxMs: number;
  /** Median beyond the minimal PulseAudio client in the same direction. */
  overReferenceMs?: number;
  pulseConfiguredLatencyMs: number | null;
  note: string;
}

/** Feeds a byte stream of S16_LE to `onChunk`, stamped on arrival. */
function pcmChunks(stream: Readable, onChunk: (s: Int16Array, t: number) => void): void {
  let carry: Buffer | undefined;
  stream.on('data', (chunk: Buffer) => {
    const now = performance.now();
    const bytes = carry ? Buffer.concat([carry, chunk]) : chunk;
    const even = bytes.length & ~1;
    carry = even < bytes.length ? bytes.subarray(even) : undefined;
    onChunk(leToInt16(bytes.subarray(0, even)), now);
  });
}

async function stopChild(cp: ChildProcess): Promise<void> {
  if (cp.exitCode !== null || cp.signalCode !== null) return;
  const exited = new Promise((r) => cp.once('exit', r));
  cp.stdout?.destroy();
  cp.kill('SIGTERM');
  const timer = setTimeout(() => cp.kill('SIGKILL'), 1000);
  await exited;
  clearTimeout(timer);
}

function spawnPcm(cmd: 'parec' | 'pacat', device: string, env: NodeJS.ProcessEnv): ChildProcess {
  const cp = spawn(cmd, [...PCM_ARGS, `--device=${device}`], { env, stdio: ['pipe', 'pipe', 'ignore'] });
  cp.stdin?.on('error', () => {});
  return cp;
}

type Recorder = (feed: (s: Int16Array, t: number) => void, env: NodeJS.ProcessEnv) => Promise<Running>;

function lpcm16(recorder: string, extra: object): Recorder {
  return async (feed) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { record } = require('node-record-lpcm16');
    const rec = record({ sampleRate: RATE, channels: 1, audioType: 'raw', recorder, ...extra });
    const stream: Readable = rec.stream();
    stream.on('error', () => {});
    pcmChunks(stream, feed);
    return { stop: () => stopChild(rec.process) };
  };
}

const OUR_ARECORD = path.join(__dirname, '..', 'src', 'audio', 'sources', 'recorders', 'arecord');

const CAPTURE: { path: string; reference?: boolean; note: string; start: Recorder }[] = [
  {
    path: `parec --latency-msec=${REF_LATENCY_MS}`,
    reference: true,
    note: 'minimal PulseAudio client: PulseAudio’s own share',
    start: async (feed, env) => {
      const cp = spawnPcm('parec', 'mouth', env);
      pcmChunks(cp.stdout!, feed);
      return { stop: () => stopChild(cp) };
    },
  },
  {
    path: 'MicSource arecord, 20 ms frames',
    note: 'what a call uses: 10 ms ALSA periods, each frame handed on when complete, held to our clock',
    start: async (feed, env) => {
      const mic = new MicSource({ recorder: 'arecord', env });
      await mic.start((RATE * FRAME_MS) / 1000, (f) => feed(f, performance.now()));
      return { stop: () => mic.stop() };
    },
  },
  {
    path: 'PulseSource (mic:pulse), 20 ms frames',
    note: 'libpulse simple API on its own thread, 10 ms reads and fragments, held to our clock',
    start: async (feed, env) => {
      const mic = new PulseSource({ env });
      await mic.start((RATE * FRAME_MS) / 1000, (f) => feed(f, performance.now()));
      return { stop: () => mic.stop() };
    },
  },
  {
    path: 'MicSource sox, 20 ms frames',
    note: 'the sox recorder, one-period I/O buffer',
    start: async (feed, env) => {
      const mic = new MicSource({ recorder: 'sox', env });
      await mic.start((RATE * FRAME_MS) / 1000, (f) => feed(f, performance.now()));
      return { stop: () => mic.stop() };
    },
  },
  {
    path: 'arecord --period-time=10000 --buffer-time=40000',
    note: 'our recorder module, raw stream (no re-pacing)',
    start: lpcm16(OUR_ARECORD, { device: 'default', periodUs: ALSA_PERIOD_US, env: undefined }),
  },
  {
    path: 'arecord, node-record-lpcm16 defaults',
    note: 'arecord’s default period (125 ms), as node-record-lpcm16 starts it',
    start: lpcm16('arecord', {}),
  },
];

type Player = (env: NodeJS.ProcessEnv) => Promise<AudioSink | { write(f: Int16Array): void; close(): Promise<void> }>;

const PLAYBACK: { path: string; reference?: boolean; note: string; open: Player }[] = [
  {
    path: `pacat --latency-msec=${REF_LATENCY_MS}`,
    note: 'for comparison only: pacat queues what it reads from its stdin, so it is no floor',
    open: async (env) => {
      const cp = spawnPcm('pacat', 'ear', env);
      return { write: (f) => void cp.stdin?.write(int16ToLE(f)), close: () => stopChild(cp) };
    },
  },
  {
    path: 'SpeakerSink, 20 ms frames',
    note: 'the speaker addon in its worker, 10 ms writes, PulseAudio asked for 60 ms (PULSE_LATENCY_MSEC)',
    open: async (env) => {
      const sink = new SpeakerSink({ env });
      sink.on('error', () => {});
      await sink.open();
      return sink;
    },
  },
  {
    path: 'PulseSink (speaker:pulse), 20 ms frames',
    note: 'libpulse simple API on its own thread: tlength 40 ms, prebuf 30 ms, minreq 10 ms',
    open: async (env) => {
      const sink = new PulseSink({ env });
      sink.on('error', () => {});
      await sink.open();
      return sink;
    },
  },
  {
    path: 'AplaySink, 20 ms frames',
    note: 'aplay with 10 ms periods, 40 ms buffer, started after one period',
    open: async (env) => {
      const sink = new AplaySink({ env });
      sink.on('error', () => {});
      await sink.open();
      return sink;
    },
  },
];

function summarise(sent: number[], heard: number[], from: number, to: number) {
  const lat = matchClicks(sent, heard.filter((t) => t >= from && t < to));
  const clicksSent = sent.filter((t) => t >= from && t < to - CLICK_PERIOD_MS).length;
  return {
    clicksSent,
    clicksHeard: lat.length,
    medianMs: round(percentile(lat, 0.5)),
    p95Ms: round(percentile(lat, 0.95)),
    minMs: round(lat.length ? Math.min(...lat) : NaN),
    maxMs: round(lat.length ? Math.max(...lat) : NaN),
  };
}

async function measureCapture(pulse: PulseDaemon): Promise<Row[]> {
  const mouth = new MouthWriter(pulse.mouthFifo);
  mouth.start();
  const rows: Row[] = [];
  try {
    for (const c of CAPTURE) {
      const detector = new ClickDetector();
      const running = await c.start((s, t) => detector.feed(s, t), pulse.env);
      const t0 = performance.now();
      await sleep(WARM_UP_MS + MEASURE_MS / 2);
      const configured = pulse.configuredLatency().mouthMs;
      await sleep(MEASURE_MS / 2);
      const t1 = performance.now();
      await running.stop();
      rows.push({
        direction: 'capture',
        path: c.path,
        reference: c.reference ?? false,
        ...summarise(mouth.train.onsets, detector.heard, t0 + WARM_UP_MS, t1),
        pulseConfiguredLatencyMs: configured,
        note: c.note,
      });
      await sleep(300);
    }
  } finally {
    mouth.stop();
  }
  return rows;
}

async function measurePlayback(pulse: PulseDaemon): Promise<Row[]> {
  const ear = createReadStream(pulse.earFifo, { highWaterMark: 4096 });
  let detector = new ClickDetector();
  // The pipe sink writes each block when its first sample is due: a chunk starts as it arrives.
  pcmChunks(ear, (s, t) => detector.feed(s, t + (s.length * 1000) / RATE));
  const rows: Row[] = [];
  try {
    for (const p of PLAYBACK) {
      detector = new ClickDetector();
      const sink = await p.open(pulse.env);
      const train = new ClickTrain();
      const samples = (RATE * FRAME_MS) / 1000;
      // A sink's write time plus the sample's place in the frame, as in bench/media-harness.ts.
      const clock = new FrameClock(FRAME_MS, () => sink.write(train.next(samples, performance.now(), 1000 / RATE)), { catchUp: false });
      clock.start();
      const t0 = performance.now();
      await sleep(WARM_UP_MS + MEASURE_MS / 2);
      const configured = pulse.configuredLatency().earMs;
      await sleep(MEASURE_MS / 2);
      const t1 = performance.now();
      clock.stop();
      await sink.close();
      rows.push({
        direction: 'playback',
        path: p.path,
        reference: p.reference ?? false,
        ...summarise(train.onsets, detector.heard, t0 + WARM_UP_MS, t1),
        pulseConfiguredLatencyMs: configured,
        note: p.note,
      });
      await sleep(300);
    }
  } finally {
    ear.destroy();
  }
  return rows;
}

function printTable(rows: Row[]): void {
  const cell = (x: number | undefined, w = 7) => (x === undefined || Number.isNaN(x) ? '—' : String(x)).padStart(w);
  console.log(`${'direction'.padEnd(9)}  ${'path'.padEnd(48)} ${'median'.padStart(7)} ${'p95'.padStart(7)} ${'+ref'.padStart(7)} ${'clicks'.padStart(7)}  pulse cfg`);
  for (const r of rows) {
    console.log(
      `${r.direction.padEnd(9)}  ${r.path.padEnd(48)} ${cell(r.medianMs)} ${cell(r.p95Ms)} ${cell(r.overReferenceMs)} ${`${r.clicksHeard}/${r.clicksSent}`.padStart(7)}  ${r.pulseConfiguredLatencyMs ?? '—'} ms`,
    );
  }
}

async function main(): Promise<void> {
  const missing = missingPieces();
  for (const mod of ['speaker', 'node-record-lpcm16']) {
    try {
      require.resolve(mod);
    } catch {
      missing.push(mod);
    }
  }
  if (missing.length) {
    console.log(`device latency: skipped, missing ${missing.join(', ')}`);
    console.log(`install: ${INSTALL} (and npm install for the audio modules)`);
    return;
  }
  const pulse = await PulseDaemon.start();
  const bail = () => void pulse.stop().finally(() => process.exit(130));
  process.once('SIGINT', bail);
  process.once('SIGTERM', bail);
  // node-record-lpcm16's own arecord module passes no environment: its child inherits ours.
  Object.assign(process.env, { PULSE_SERVER: pulse.env.PULSE_SERVER, PULSE_COOKIE: pulse.env.PULSE_COOKIE, ALSA_CONFIG_PATH: pulse.env.ALSA_CONFIG_PATH });
  let rows: Row[];
  try {
    rows = [...(await measureCapture(pulse)), ...(await measurePlayback(pulse))];
  } finally {
    await pulse.stop();
  }
  for (const r of rows) {
    const ref = rows.find((x) => x.reference && x.direction === r.direction);
    if (!r.reference && ref) r.overReferenceMs = round(r.medianMs - ref.medianMs);
  }
  printTable(rows);
  console.log('');
  const added: Record<string, { medianMs: number; p95Ms: number }> = {};
  for (const [name, micPrefix, prefix] of [['addon', 'MicSource arecord', 'SpeakerSink'], ['aplay', 'MicSource arecord', 'AplaySink'], ['pulse', 'PulseSource', 'PulseSink']]) {
    const mic = rows.find((r) => r.path.startsWith(micPrefix))!;
    const spk = rows.find((r) => r.path.startsWith(prefix))!;
    const sum = { medianMs: round(mic.medianMs + spk.medianMs), p95Ms: round(mic.p95Ms + spk.p95Ms) };
    added[name] = sum;
    console.log(`${micPrefix} + ${prefix} add: median ${sum.medianMs} ms, p95 ${sum.p95Ms} ms`);
  }
  const dir = path.join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const setup = {
    server: 'private pulseaudio daemon (-n, own runtime dir), pipe sink "ear" (use_system_clock_for_timing=yes) and pipe source "mouth", 48 kHz mono s16le',
    alsa: 'pcm.!default { type pulse } via ALSA_CONFIG_PATH (libasound2-plugins)',
    referenceClientLatencyMs: REF_LATENCY_MS,
    frameMs: FRAME_MS,
    warmUpMs: WARM_UP_MS,
    measureMs: MEASURE_MS,
  };
  writeFileSync(path.join(dir, 'device-latency.json'), JSON.stringify({ date: new Date().toISOString(), setup, added, results: rows }, null, 2) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
