/**
 * Helpers for audio tests: frequency estimation, correlation, and an ALSA configuration that
 * turns the default device into files (arecord reads IN.raw, playback writes OUT.raw).
 */
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { int16ToLE, leToInt16 } from '../../src/audio/wav';

const RATE = 48000;

/** Power of `freq` in `x` by the Goertzel algorithm, normalised to the signal's length. */
export function goertzel(x: ArrayLike<number>, freq: number, rate = RATE): number {
  const w = (2 * Math.PI * freq) / rate;
  const c = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < x.length; i++) {
    const s0 = x[i] + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - c * s1 * s2) / (x.length * x.length);
}

/** The strongest frequency in `x` between lo and hi Hz, to within `stepHz`. */
export function dominantFrequency(x: ArrayLike<number>, rate = RATE, lo = 50, hi = 8000, stepHz = 5): number {
  let best = lo;
  let bestPower = -1;
  for (let f = lo; f <= hi; f += stepHz) {
    const p = goertzel(x, f, rate);
    if (p > bestPower) {
      bestPower = p;
      best = f;
    }
  }
  return best;
}

/** Share of the signal's energy at `freq` (1 for a pure tone, near 0 if absent). */
export function toneShare(x: ArrayLike<number>, freq: number, rate = RATE): number {
  let energy = 0;
  for (let i = 0; i < x.length; i++) energy += x[i] * x[i];
  if (energy === 0) return 0;
  // A sine of amplitude A has mean energy A²/2 and Goertzel power A²/4.
  return (2 * goertzel(x, freq, rate)) / (energy / x.length);
}

export function rms(x: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i] * x[i];
  return x.length ? Math.sqrt(sum / x.length) : 0;
}

/** Normalised cross-correlation of a against b shifted by `lag` (b[i + lag] vs a[i]). */
export function correlationAt(a: ArrayLike<number>, b: ArrayLike<number>, lag: number): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const j = i + lag;
    if (j < 0 || j >= b.length) continue;
    ab += a[i] * b[j];
    aa += a[i] * a[i];
    bb += b[j] * b[j];
  }
  return aa && bb ? ab / Math.sqrt(aa * bb) : 0;
}

/** The lag in 0..maxLag where b best matches a, and the correlation there. */
export function bestLag(a: ArrayLike<number>, b: ArrayLike<number>, maxLag: number): { lag: number; correlation: number } {
  let best = { lag: 0, correlation: -Infinity };
  for (let lag = 0; lag <= maxLag; lag++) {
    const c = correlationAt(a, b, lag);
    if (c > best.correlation) best = { lag, correlation: c };
  }
  return best;
}

export function concatFrames(frames: Int16Array[]): Int16Array {
  const out = new Int16Array(frames.reduce((n, f) => n + f.length, 0));
  let o = 0;
  for (const f of frames) {
    out.set(f, o);
    o += f.length;
  }
  return out;
}

export interface AlsaFileDevice {
  dir: string;
  /** Path of the asound.conf; pass `env` to the child processes that open ALSA. */
  confPath: string;
  inPath: string;
  outPath: string;
  env: NodeJS.ProcessEnv;
  /** What has been played so far (S16_LE 48 kHz mono: the file plugin writes the slave's format). */
  output(): Int16Array;
  cleanup(): void;
}

/**
 * An ALSA default device made of files: capture reads `input` (S16_LE, 48 kHz, mono) as fast as
 * it is read, playback writes to OUT.raw. The null slave keeps no time.
 */
export function alsaFileDevice(input: Int16Array): AlsaFileDevice {
  const dir = mkdtempSync(join(tmpdir(), 'parley-alsa-'));
  const confPath = join(dir, 'asound.conf');
  const inPath = join(dir, 'IN.raw');
  const outPath = join(dir, 'OUT.raw');
  writeFileSync(inPath, int16ToLE(input));
  writeFileSync(
    confPath,
    `pcm.!default { type file; slave { pcm { type null } }; file "${outPath}"; infile "${inPath}"; format "raw" }\n`,
  );
  return {
    dir,
    confPath,
    inPath,
    outPath,
    env: { ...process.env, ALSA_CONFIG_PATH: confPath },
    output: () => (existsSync(outPath) ? leToInt16(readFileSync(outPath)) : new Int16Array(0)),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** An ALSA configuration whose default device cannot be opened (a sound card that isn't there). */
export function brokenAlsaConfig(): { dir: string; env: NodeJS.ProcessEnv; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'parley-alsa-bad-'));
  const confPath = join(dir, 'asound.conf');
  writeFileSync(confPath, 'pcm.!default { type hw; card 7 }\n');
  return {
    dir,
    env: { ...process.env, ALSA_CONFIG_PATH: confPath },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Time that moves only when a test says so: a Timers for FrameClock, sources and the media
 * session. `advance` fires every timer that falls due, in order, each at its own time.
 */
export class ManualTimers {
  private t = 0;
  private seq = 0;
  private pending: { at: number; seq: number; fn: () => void; handle: { unref(): unknown } }[] = [];

  now = (): number => this.t;

  setTimeout = (fn: () => void, ms: number): { unref(): unknown } => {
    const handle = { unref: () => handle };
    this.pending.push({ at: this.t + Math.max(0, ms), seq: this.seq++, fn, handle });
    return handle;
  };

  clearTimeout = (handle: { unref(): unknown } | undefined): void => {
    this.pending = this.pending.filter((p) => p.handle !== handle);
  };

  /** Timers waiting to fire. */
  get size(): number {
    return this.pending.length;
  }

  /** Moves time forward by `ms`, firing each timer at its due time; `lateMs` makes each fire that much late. */
  advance(ms: number, lateMs = 0): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.pending.reduce<(typeof this.pending)[number] | undefined>(
        (best, p) => (!best || p.at < best.at || (p.at === best.at && p.seq < best.seq) ? p : best),
        undefined,
      );
      if (!next || next.at + lateMs > end) break;
      this.pending = this.pending.filter((p) => p !== next);
      this.t = Math.max(this.t, next.at + lateMs);
      next.fn();
    }
    this.t = end;
  }

  /** Moves time forward without firing anything: a process that stalls for `ms`. */
  stall(ms: number): void {
    this.t += ms;
  }
}
