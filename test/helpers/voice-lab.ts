/**
 * The voice-processing lab: seeded scenes (an echo path, a noisy room, a quiet or a loud
 * talker) and the figures that judge what an engine made of them. Signals are 48 kHz Int16,
 * times are ms, windows are [startMs, endMs) spans. Levels are RMS dBFS (full scale 32768).
 */
import { ENGINE_SAMPLES, type VoiceEngine } from '../../src/audio/processing/engine';
import type { FrameProcessor } from '../../src/audio/processing/frame-processor';
import { msToSamples, seededRandom, speechLike } from '../../src/audio/signals';
import { SAMPLE_RATE } from '../../src/audio/types';

export type Window = [number, number];
export const FRAME_MS = 10;
export const WHISPER_DBFS = -45;
export const SHOUT_DBFS = -8;
/** A level for silence, so figures stay finite (and JSON-able). */
export const FLOOR_DB = -150;

const dbOf = (power: number) => (power > 0 ? Math.max(FLOOR_DB, 10 * Math.log10(power)) : FLOOR_DB);
const gainOf = (db: number) => 10 ** (db / 20);

/** Sample index spans of the windows, clipped to `length`. */
function spans(windows: Window[], length: number): [number, number][] {
  return windows
    .map(([a, b]): [number, number] => [Math.max(0, msToSamples(a)), Math.min(length, msToSamples(b))])
    .filter(([a, b]) => b > a);
}

function meanSquare(x: ArrayLike<number>, windows: Window[]): number {
  let sum = 0;
  let n = 0;
  for (const [a, b] of spans(windows, x.length)) {
    for (let i = a; i < b; i++) sum += x[i] * x[i];
    n += b - a;
  }
  return n ? sum / n : 0;
}

const everything = (x: ArrayLike<number>): Window[] => [[0, (x.length * 1000) / SAMPLE_RATE]];

/** RMS level (dBFS) over the windows; the whole signal without them. */
export function levelDb(x: ArrayLike<number>, windows: Window[] = everything(x)): number {
  return dbOf(meanSquare(x, windows) / 32768 ** 2);
}

/** Echo return loss enhancement: how much quieter `out` is than `mic` over the windows. */
export function erleDb(mic: ArrayLike<number>, out: ArrayLike<number>, windows: Window[] = everything(mic)): number {
  return dbOf(meanSquare(mic, windows)) - dbOf(meanSquare(out, windows));
}

/** Scales to a level (dBFS over the windows), in float; toInt16 clips what exceeds full scale. */
function scaleTo(x: Float32Array, dbfs: number, windows: Window[]): Float32Array {
  const now = levelDb(x, windows);
  const g = now > FLOOR_DB ? gainOf(dbfs - now) : 0;
  return x.map((v) => v * g);
}

function toInt16(x: ArrayLike<number>): Int16Array {
  const out = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = Math.round(x[i]);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}

function add(...xs: ArrayLike<number>[]): Int16Array {
  const sum = new Float32Array(xs[0].length);
  for (const x of xs) for (let i = 0; i < sum.length; i++) sum[i] += x[i];
  return toInt16(sum);
}

/** Keeps the signal inside the windows only, with 5 ms ramps so the gate does not click. */
function gate(x: ArrayLike<number>, windows: Window[]): Float32Array {
  const out = new Float32Array(x.length);
  const ramp = msToSamples(5);
  for (const [a, b] of spans(windows, x.length)) {
    for (let i = a; i < b; i++) out[i] = x[i] * Math.min(1, (i - a + 1) / ramp, (b - i) / ramp);
  }
  return out;
}

/**
 * A talker: talk spurts of 0.8–2 s (syllables, voiced harmonics, short pauses: speechLike)
 * with 0.4–1 s of silence between, its speech at `dbfs` over the spurts.
 */
export function talker(seed: number, ms: number, dbfs = -26): { signal: Int16Array; spurts: Window[] } {
  const rnd = seededRandom(seed ^ 0x5eed);
  const spurts: Window[] = [];
  for (let t = 200 + 300 * rnd(); t < ms - 300; ) {
    const end = Math.min(ms, t + 800 + 1200 * rnd());
    spurts.push([Math.round(t), Math.round(end)]);
    t = end + 400 + 600 * rnd();
  }
  const raw = speechLike(seed, ms, 0.5);
  return { signal: toInt16(scaleTo(gate(raw, spurts), dbfs, spurts)), spurts };
}

/** A fan: pink-ish noise low-passed around 1 kHz, plus hum at 100 and 150 Hz, at `dbfs`. */
export function fanNoise(seed: number, ms: number, dbfs = -50): Int16Array {
  const rnd = seededRandom(seed ^ 0xfa4);
  const n = msToSamples(ms);
  const x = new Float32Array(n);
  // Paul Kellet's economy pink filter, then a one-pole low-pass.
  let b0 = 0, b1 = 0, b2 = 0, lp = 0;
  const a = Math.exp((-2 * Math.PI * 1000) / SAMPLE_RATE);
  for (let i = 0; i < n; i++) {
    const w = 2 * rnd() - 1;
    b0 = 0.99765 * b0 + w * 0.099046;
    b1 = 0.963 * b1 + w * 0.2965164;
    b2 = 0.57 * b2 + w * 1.0526913;
    lp = a * lp + (1 - a) * (b0 + b1 + b2 + w * 0.1848);
    const t = i / SAMPLE_RATE;
    x[i] = lp + 0.05 * Math.sin(2 * Math.PI * 100 * t) + 0.03 * Math.sin(2 * Math.PI * 150 * t + 1);
  }
  return toInt16(scaleTo(x, dbfs, everything(x)));
}

export type DelaySteps = { atMs: number; delayMs: number }[];

/** The echo path's delay at a time: a number, or the last step at or before it (the first before any). */
export function delayAt(delay: number | DelaySteps, ms: number): number {
  if (typeof delay === 'number') return delay;
  let d = delay[0]?.delayMs ?? 0;
  for (const s of delay) if (s.atMs <= ms) d = s.delayMs;
  return d;
}

export type EchoLabel = 'far-only' | 'double-talk' | 'near-only' | 'silence';

export interface EchoScene {
  far: Int16Array;
  echo: Int16Array;
  near: Int16Array;
  /** echo + near (+ the room's noise when asked for). */
  mic: Int16Array;
  /** Consecutive spans by who talks (by the talkers' windows, not their syllables). */
  segments: { label: EchoLabel; window: Window }[];
}

export interface EchoSceneOptions {
  seed: number;
  ms: number;
  delayMs: number | DelaySteps;
  /** How much quieter the echo is than the far end (dB). */
  attenuationDb: number;
  /** Decay time constant of the room's reflections (ms); they last about 3 × this. */
  irDecayMs?: number;
  nearSegments?: Window[];
  /** When the far end talks; all along without it. */
  farSegments?: Window[];
  farDbfs?: number;
  nearDbfs?: number;
  /** A fan in the room, at this level; none without it. */
  noiseDbfs?: number;
}

/** A sparse decaying impulse response: a direct path and 48 reflections, energy 1. */
function impulseResponse(rnd: () => number, decayMs: number): { lag: number; gain: number }[] {
  const taps = [{ lag: 0, gain: 1 }];
  const decay = msToSamples(decayMs);
  for (let k = 0; k < 48; k++) {
    const lag = 1 + Math.floor(rnd() * 3 * decay);
    taps.push({ lag, gain: (rnd() < 0.5 ? -0.3 : 0.3) * Math.exp(-lag / decay) });
  }
  const energy = taps.reduce((s, t) => s + t.gain * t.gain, 0);
  return taps.map((t) => ({ lag: t.lag, gain: t.gain / Math.sqrt(energy) }));
}

export function echoScene(o: EchoSceneOptions): EchoScene {
  const { seed, ms, attenuationDb, irDecayMs = 8, nearSegments = [], farSegments = [[0, ms]] } = o;
  const n = msToSamples(ms);
  const farTalk = talker(seed, ms, o.farDbfs ?? -20);
  const far = toInt16(gate(farTalk.signal, farSegments));
  const nearTalk = talker(seed + 7919, ms, o.nearDbfs ?? -26);
  const near = toInt16(gate(nearTalk.signal, nearSegments));
  const ir = impulseResponse(seededRandom(seed ^ 0x1e), irDecayMs);
  const echo = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const d = msToSamples(delayAt(o.delayMs, (i * 1000) / SAMPLE_RATE));
    let v = 0;
    for (const t of ir) {
      const j = i - d - t.lag;
      if (j >= 0) v += t.gain * far[j];
    }
    echo[i] = v;
  }
  // Reflections of correlated speech add up unevenly: set the level after the fact.
  const echo16 = toInt16(scaleTo(echo, levelDb(far) - attenuationDb, everything(echo)));
  const noise = o.noiseDbfs === undefined ? new Int16Array(n) : fanNoise(seed, ms, o.noiseDbfs);
  return { far, echo: echo16, near, mic: add(echo16, near, noise), segments: labelSegments(ms, farSegments, nearSegments) };
}

function inside(windows: Window[], t: number): boolean {
  return windows.some(([a, b]) => t >= a && t < b);
}

/** Splits [0, ms) into consecutive spans by who talks, at 10 ms resolution. */
function labelSegments(ms: number, far: Window[], near: Window[]): { label: EchoLabel; window: Window }[] {
  const out: { label: EchoLabel; window: Window }[] = [];
  for (let t = 0; t < ms; t += FRAME_MS) {
    const f = inside(far, t);
    const nr = inside(near, t);
    const label: EchoLabel = f && nr ? 'double-talk' : f ? 'far-only' : nr ? 'near-only' : 'silence';
    const last = out[out.length - 1];
    if (last && last.label === label) last.window[1] = Math.min(ms, t + FRAME_MS);
    else out.push({ label, window: [t, Math.min(ms, t + FRAME_MS)] });
  }
  return out;
}

/** The windows of a label, from `fromMs` on (to skip a convergence time). */
export function windowsOf(segments: { label: EchoLabel; window: Window }[], label: EchoLabel, fromMs = 0): Window[] {
  return segments
    .filter((s) => s.label === label && s.window[1] > fromMs)
    .map((s): Window => [Math.max(fromMs, s.window[0]), s.window[1]]);
}

export interface NoiseScene {
  clean: Int16Array;
  noise: Int16Array;
  mixed: Int16Array;
  /** The talk spurts, and the silences between them. */
  speech: Window[];
  pauses: Window[];
  /** Per 10 ms frame: does the clean speech hold voice (within 30 dB of its level)? */
  labels: boolean[];
}

/** A talker at `speechDbfs` over a fan `snrDb` below it. */
export function noiseScene(o: { seed: number; ms: number; snrDb: number; speechDbfs?: number }): NoiseScene {
  const speechDbfs = o.speechDbfs ?? -26;
  const { signal: clean, spurts } = talker(o.seed, o.ms, speechDbfs);
  const noise = fanNoise(o.seed, o.ms, speechDbfs - o.snrDb);
  const pauses: Window[] = [];
  let t = 0;
  for (const [a, b] of spurts) {
    if (a > t) pauses.push([t, a]);
    t = b;
  }
  if (t < o.ms) pauses.push([t, o.ms]);
  const labels: boolean[] = [];
  for (let f = 0; f * FRAME_MS < o.ms; f++) labels.push(levelDb(clean, [[f * FRAME_MS, (f + 1) * FRAME_MS]]) > speechDbfs - 30);
  return { clean, noise, mixed: add(clean, noise), speech: spurts, pauses, labels };
}

/**
 * Feeds an engine a scene as a call would, 10 ms at a time: the far end's frame to playback,
 * then the microphone's to capture. Returns what capture made of the microphone, and its
 * verdicts. `delayMs` is what the devices report, fixed or by time.
 */
export function runEngine(
  engine: Pick<VoiceEngine, 'playback' | 'capture'>,
  far: Int16Array,
  mic: Int16Array,
  opts: { delayMs?: number | ((ms: number) => number) } = {},
): { out: Int16Array; vad: (boolean | null)[] } {
  const out = Int16Array.from(mic);
  const vad: (boolean | null)[] = [];
  const frames = Math.floor(mic.length / ENGINE_SAMPLES);
  for (let f = 0; f < frames; f++) {
    const at = f * ENGINE_SAMPLES;
    const delay = typeof opts.delayMs === 'function' ? opts.delayMs(f * FRAME_MS) : (opts.delayMs ?? 0);
    engine.playback(far.length >= at + ENGINE_SAMPLES ? far.slice(at, at + ENGINE_SAMPLES) : new Int16Array(ENGINE_SAMPLES));
    vad.push(engine.capture(out.subarray(at, at + ENGINE_SAMPLES), delay));
  }
  return { out, vad };
}

/**
 * Feeds a call's processing (src/client/call-voice.ts) a scene 20 ms at a time, as a session's
 * playout tick and capture do: the far end's frame played, then the microphone's captured.
 * Returns what it made of the microphone, and closes it.
 */
export function runProcessor(p: FrameProcessor, far: Int16Array, mic: Int16Array): Int16Array {
  const frame = 960;
  const out = Int16Array.from(mic);
  for (let at = 0; at + frame <= mic.length; at += frame) {
    p.playback(far.length >= at + frame ? far.slice(at, at + frame) : new Int16Array(frame));
    p.capture(out.subarray(at, at + frame));
  }
  p.close();
  return out;
}

/**
 * How `ref` comes through in `out` over the windows (dB; 0 = untouched): the least-squares gain
 * of `ref` in `out`, at the lag (0–maxLagMs, out later) that correlates best, since some
 * engines delay their output. What else is in `out` (residual echo, noise) does not count.
 */
export function componentGainDb(out: ArrayLike<number>, ref: ArrayLike<number>, windows: Window[], maxLagMs = 20): number {
  const maxLag = msToSamples(maxLagMs);
  const ws = spans(windows, ref.length);
  let refPower = 0;
  for (const [a, b] of ws) for (let i = a; i < b; i++) refPower += ref[i] * ref[i];
  if (refPower === 0) return 0;
  let best = -Infinity;
  for (let lag = 0; lag <= maxLag; lag++) {
    let dot = 0;
    for (const [a, b] of ws) for (let i = a; i < b && i + lag < out.length; i++) dot += out[i + lag] * ref[i];
    best = Math.max(best, dot);
  }
  return best > 0 ? Math.max(FLOOR_DB, 20 * Math.log10(best / refPower)) : FLOOR_DB;
}

/** How much of the near talker double-talk costs (dB, positive = lost). */
export function doubleTalkLossDb(out: ArrayLike<number>, near: ArrayLike<number>, windows: Window[]): number {
  return -componentGainDb(out, near, windows);
}

/**
 * Time (ms) from a delay step until ERLE, in `windowMs` windows sliding by 10 ms, stays at or
 * above the threshold to the end: the start of the first window of that run. Windows where the
 * microphone is quieter than `minMicDbfs` (far-end pauses) say nothing and are skipped. Null
 * when it never does.
 */
export function reconvergenceMs(
  mic: ArrayLike<number>,
  out: ArrayLike<number>,
  stepAtMs: number,
  thresholdDb: number,
  opts: { windowMs?: number; minMicDbfs?: number } = {},
): number | null {
  const { windowMs = 100, minMicDbfs = -60 } = opts;
  const endMs = (mic.length * 1000) / SAMPLE_RATE;
  let since: number | null = null;
  for (let t = stepAtMs; t + windowMs <= endMs; t += FRAME_MS) {
    const w: Window[] = [[t, t + windowMs]];
    if (levelDb(mic, w) < minMicDbfs) continue;
    if (erleDb(mic, out, w) >= thresholdDb) since ??= t;
    else since = null;
  }
  return since === null ? null : since - stepAtMs;
}

/** Noise suppression's figures: the floor's drop in pauses, and what happened to the speech. */
export function noiseFigures(
  scene: NoiseScene,
  out: ArrayLike<number>,
  fromMs = 0,
): { floorDropDb: number; speechChangeDb: number; levelChangeDb: number } {
  const after = (ws: Window[]) => ws.filter(([, b]) => b > fromMs).map(([a, b]): Window => [Math.max(a, fromMs), b]);
  const pauses = after(scene.pauses);
  const speech = after(scene.speech);
  return {
    floorDropDb: levelDb(scene.mixed, pauses) - levelDb(out, pauses),
    speechChangeDb: componentGainDb(out, scene.clean, speech),
    levelChangeDb: levelDb(out, speech) - levelDb(scene.mixed, speech),
  };
}

/** Where gain control brought the speech: its level over the spurts that start at `fromMs` or later. */
export function landingDbfs(scene: NoiseScene, out: ArrayLike<number>, fromMs: number): number {
  return levelDb(out, scene.speech.filter(([a]) => a >= fromMs));
}

/** Share of frames (from `fromMs`) whose verdict matches the label; frames without one don't count. */
export function vadAccuracy(vad: (boolean | null)[], labels: boolean[], fromMs = 0): number | null {
  let right = 0;
  let judged = 0;
  for (let f = Math.ceil(fromMs / FRAME_MS); f < Math.min(vad.length, labels.length); f++) {
    if (vad[f] === null) continue;
    judged++;
    if (vad[f] === labels[f]) right++;
  }
  return judged ? right / judged : null;
}
