/**
 * Two clients' worth of sound devices on a private PulseAudio daemon (bench/device/pulse.ts):
 * each side gets an "ear" sink, whose monitor is recorded with parec, and a "mouth" sink, which
 * pacat plays a signal into and whose monitor is the side's microphone. The null sinks run
 * without rewinds: PulseAudio 16's null sink stops asking small-buffered streams for audio
 * after a rewind (docs/architecture.md, "Audio"), which no sound card's sink does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PulseDaemon, missingPieces } from '../../bench/device/pulse';
import { int16ToLE, leToInt16 } from '../../src/audio';

export { missingPieces };

const PCM = ['--raw', '--format=s16le', '--rate=48000', '--channels=1'];

export interface PulseSide {
  /** Environment that puts a client's backends (libpulse and ALSA's pulse plugin) on this side's devices. */
  env: NodeJS.ProcessEnv;
  /** Everything this side's ear sink has played since the recording began. */
  heard(): Int16Array;
  /** Plays `signal` into this side's microphone, in real time. */
  say(signal: Int16Array): void;
}

export class PulseRig {
  private readonly children: ChildProcess[] = [];

  private constructor(readonly daemon: PulseDaemon) {}

  static async start(sides: string[]): Promise<PulseRig> {
    const sinks = sides.flatMap((s) => [`${s}_ear`, `${s}_mouth`]);
    const lines = sinks.map((name) => `load-module module-null-sink sink_name=${name} rate=48000 channels=1 format=s16le norewinds=1`);
    return new PulseRig(await PulseDaemon.start(lines));
  }

  side(name: string): PulseSide {
    const env = { ...this.daemon.env, PULSE_SINK: `${name}_ear`, PULSE_SOURCE: `${name}_mouth.monitor` };
    const chunks: Buffer[] = [];
    const rec = this.spawn('parec', [...PCM, '--latency-msec=10', `--device=${name}_ear.monitor`]);
    rec.stdout?.on('data', (c: Buffer) => chunks.push(c));
    return {
      env,
      heard: () => {
        const all = Buffer.concat(chunks);
        return leToInt16(all.subarray(0, all.length & ~1));
      },
      say: (signal) => {
        const play = this.spawn('pacat', [...PCM, '--latency-msec=10', `--device=${name}_mouth`]);
        play.stdin?.end(int16ToLE(signal));
      },
    };
  }

  async stop(): Promise<void> {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await this.daemon.stop();
  }

  private spawn(cmd: string, args: string[]): ChildProcess {
    const cp = spawn(cmd, args, { env: this.daemon.env, stdio: ['pipe', 'pipe', 'ignore'] });
    cp.stdin?.on('error', () => {});
    this.children.push(cp);
    return cp;
  }
}

/** Normalised cross-correlation of a and b (same length); 0 when either is silent. */
export function ncc(a: ArrayLike<number>, b: ArrayLike<number>, aStart: number, bStart: number, n: number): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[aStart + i];
    const y = b[bStart + i];
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

/** Index of the first sample of `x` louder than `threshold`, or -1. */
export function firstLoud(x: Int16Array, threshold = 2000): number {
  return x.findIndex((v) => Math.abs(v) > threshold);
}

/**
 * The lag (index in `heard` minus index in `fed`) of the stretch of `heard` that starts at
 * `heardFrom`: a coarse search over every place in `fed` (a quarter of the rate, 250 ms
 * compared), refined at full rate. Found from the heard side, so it holds however late the
 * programs that play and record started on a busy machine.
 */
export function findLag(fed: Int16Array, heard: Int16Array, heardFrom: number): number {
  const down = (x: Int16Array) => {
    const out = new Float32Array(Math.floor(x.length / 4));
    for (let i = 0; i < out.length; i++) out[i] = x[4 * i] + x[4 * i + 1] + x[4 * i + 2] + x[4 * i + 3];
    return out;
  };
  const f = down(fed);
  const h = down(heard);
  const from = Math.floor(heardFrom / 4);
  const n = 3000;
  let best = { at: 0, c: -Infinity };
  for (let at = 0; at + n <= f.length; at++) {
    const c = ncc(f, h, at, from, n);
    if (c > best.c) best = { at, c };
  }
  let fine = { at: 4 * best.at, c: -Infinity };
  for (let at = 4 * best.at - 8; at <= 4 * best.at + 8; at++) {
    if (at < 0 || at + 4 * n > fed.length) continue;
    const c = ncc(fed, heard, at, heardFrom, 4 * n);
    if (c > fine.c) fine = { at, c };
  }
  return heardFrom - fine.at;
}

/**
 * NCC of each 100 ms window of `heard` from `fromMs` to `toMs` (times in `fed`) against `fed`,
 * each window aligned on its own within ±`slackMs` of `lag`: the jitter buffer and the devices
 * may move the delay during a call (a glitch inside a window still lowers its figure).
 */
export function windowNcc(fed: Int16Array, heard: Int16Array, lag: number, fromMs: number, toMs: number, slackMs = 100): number[] {
  const win = 4800;
  const slack = (slackMs * 48000) / 1000;
  const out: number[] = [];
  for (let s = Math.round((fromMs * 48000) / 1000); s + win <= Math.round((toMs * 48000) / 1000); s += win) {
    let best = 0;
    for (let d = -slack; d <= slack; d++) {
      const at = s + lag + d;
      if (at < 0 || at + win > heard.length) continue;
      best = Math.max(best, ncc(fed, heard, s, at, win));
    }
    out.push(best);
  }
  return out;
}
