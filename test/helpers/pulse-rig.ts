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

/**
 * Where in `heard` the start of `fed` lies: a coarse search at a quarter of the rate over
 * `maxLagMs` on a 500 ms stretch from `fedFromMs`, refined at full rate.
 */
export function findLag(fed: Int16Array, heard: Int16Array, fedFromMs: number, maxLagMs: number): number {
  const down = (x: Int16Array) => {
    const out = new Float32Array(Math.floor(x.length / 4));
    for (let i = 0; i < out.length; i++) out[i] = x[4 * i] + x[4 * i + 1] + x[4 * i + 2] + x[4 * i + 3];
    return out;
  };
  const f = down(fed);
  const h = down(heard);
  const from = (fedFromMs * 12000) / 1000;
  const n = 6000;
  let best = { lag: 0, c: -Infinity };
  for (let lag = 0; lag <= (maxLagMs * 12000) / 1000 && from + lag + n <= h.length; lag++) {
    const c = ncc(f, h, from, from + lag, n);
    if (c > best.c) best = { lag, c };
  }
  let fine = { lag: 4 * best.lag, c: -Infinity };
  const start = (fedFromMs * 48000) / 1000;
  for (let lag = 4 * best.lag - 8; lag <= 4 * best.lag + 8; lag++) {
    if (lag < 0 || start + lag + 4 * n > heard.length) continue;
    const c = ncc(fed, heard, start, start + lag, 4 * n);
    if (c > fine.c) fine = { lag, c };
  }
  return fine.lag;
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
  for (let s = (fromMs * 48000) / 1000; s + win <= (toMs * 48000) / 1000; s += win) {
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
