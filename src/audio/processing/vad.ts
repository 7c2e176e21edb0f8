import { SAMPLE_RATE, type Frame } from '../types';

export interface VadOptions {
  /** How far above the noise floor (dB) a frame must be to count as voice (default 3). */
  thresholdDb?: number;
  /** A frame this far above the floor is voice at once; between the two, two frames in a row are needed (default 9). */
  onsetDb?: number;
  /** Nothing quieter than this (dBFS RMS) is voice, however quiet the floor (default -62). */
  absoluteDb?: number;
  /** How long "voice" holds after the last voiced frame (default 200 ms). */
  hangoverMs?: number;
  /** How fast the floor may rise (dB/s) while the level stays above it (default 1.5). */
  riseDbPerSec?: number;
}

/** The quietest level considered at all: an all-zero frame sits here. */
const FLOOR_DB = -120;
/** The floor starts no higher than this: speech from the first frame on must not become the floor. */
const INITIAL_FLOOR_DB = -50;
/** A level that stays above the floor this long without a dip is a louder background, not speech (which pauses)... */
const STEADY_MS = 1500;
/** ...and the floor then climbs this fast (dB/s). */
const STEADY_RISE_DB_PER_SEC = 10;
/** For this long after the first frame the floor climbs fast, to find the background a call starts in. */
const LEARN_MS = 1000;
const LEARN_RISE_DB_PER_SEC = 20;

/**
 * An energy-based voice-activity detector for frames of any size (10, 20, 40 ms at 48 kHz).
 * It tracks the noise floor: down fast (toward a quieter frame at once, smoothed a little), up
 * slowly (a few dB a second), so a steady background becomes the floor and speech stands out
 * above it. A frame is voice when it is `thresholdDb` above the floor and above `absoluteDb`;
 * a frame only a little above needs a second in a row (onset: a single click or a noise burst
 * is not speech), one well above is voice at once. A level that stays above the floor for seconds
 * without a dip is a background that got louder (speech pauses): the floor then climbs fast.
 * The floor starts no higher than −50 dBFS and climbs fast for the first second, to find the
 * background a call starts in (a louder one takes two or three seconds to learn). After the last voiced frame, "voice" holds
 * for `hangoverMs`, so word tails and short pauses are not cut. Nothing is allocated per frame.
 */
export class Vad {
  private readonly thresholdDb: number;
  private readonly onsetDb: number;
  private readonly absoluteDb: number;
  private readonly hangoverMs: number;
  private readonly riseDbPerSec: number;
  private floorDb: number | null = null;
  private pending = false;
  private hangLeftMs = 0;
  /** How long the level has stayed above threshold without a dip. */
  private aboveMs = 0;
  /** How long this detector has listened. */
  private heardMs = 0;
  /** The last frame's level, dBFS RMS. */
  levelDb = FLOOR_DB;

  constructor(opts: VadOptions = {}) {
    this.thresholdDb = opts.thresholdDb ?? 3;
    this.onsetDb = opts.onsetDb ?? 9;
    this.absoluteDb = opts.absoluteDb ?? -62;
    this.hangoverMs = opts.hangoverMs ?? 200;
    this.riseDbPerSec = opts.riseDbPerSec ?? 1.5;
  }

  /** The noise floor now, dBFS RMS (the first frame's level until one has been seen). */
  get noiseFloorDb(): number {
    return this.floorDb ?? FLOOR_DB;
  }

  /** Whether `frame` is voice (or within the hangover after voice). */
  process(frame: Frame): boolean {
    const n = frame.length;
    if (n === 0) return this.hangLeftMs > 0;
    const frameMs = (n * 1000) / SAMPLE_RATE;
    let energy = 0;
    for (let i = 0; i < n; i++) energy += frame[i] * frame[i];
    const level = energy > 0 ? 10 * Math.log10(energy / n / (32768 * 32768)) : FLOOR_DB;
    this.levelDb = Math.max(FLOOR_DB, level);
    let floor = this.floorDb ?? Math.min(this.levelDb, INITIAL_FLOOR_DB);
    if (this.levelDb < floor) floor += (this.levelDb - floor) * 0.6;
    else {
      const rise = this.heardMs < LEARN_MS ? LEARN_RISE_DB_PER_SEC : this.aboveMs > STEADY_MS ? STEADY_RISE_DB_PER_SEC : this.riseDbPerSec;
      floor = Math.min(this.levelDb, floor + (rise * frameMs) / 1000);
    }
    this.floorDb = floor;
    this.heardMs += frameMs;

    const above = this.levelDb - floor;
    this.aboveMs = above >= this.thresholdDb ? this.aboveMs + frameMs : 0;
    const loud = this.levelDb > this.absoluteDb;
    let voiced = false;
    if (loud && above >= this.onsetDb) voiced = true;
    else if (loud && above >= this.thresholdDb) voiced = this.pending || this.hangLeftMs > 0;
    this.pending = loud && above >= this.thresholdDb;
    if (voiced) {
      this.hangLeftMs = this.hangoverMs;
      return true;
    }
    if (this.hangLeftMs > 0) {
      this.hangLeftMs -= frameMs;
      return true;
    }
    return false;
  }

  reset(): void {
    this.floorDb = null;
    this.pending = false;
    this.hangLeftMs = 0;
    this.aboveMs = 0;
    this.heardMs = 0;
    this.levelDb = FLOOR_DB;
  }
}
