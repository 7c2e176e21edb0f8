/**
 * Levels in dBFS, where 0 dBFS is a full-scale square wave (so a full-scale sine reads -3 dB
 * RMS). Silence reads MIN_DBFS rather than -Infinity, to stay printable and JSON-safe.
 */
export const MIN_DBFS = -100;
const FULL_SCALE = 32768;

export function toDbfs(linear: number): number {
  return linear > 0 ? Math.max(MIN_DBFS, 20 * Math.log10(linear / FULL_SCALE)) : MIN_DBFS;
}

export interface Level {
  rms: number;
  peak: number;
}

export function frameLevel(frame: ArrayLike<number>): Level {
  let sum = 0;
  let peak = 0;
  for (let i = 0; i < frame.length; i++) {
    const v = frame[i];
    sum += v * v;
    const a = v < 0 ? -v : v;
    if (a > peak) peak = a;
  }
  return { rms: toDbfs(frame.length ? Math.sqrt(sum / frame.length) : 0), peak: toDbfs(peak) };
}

/**
 * A meter for display: rises at once (attack) and falls by `releaseDbPerSecond`, the way a
 * VU/PPM needle does, so it neither flickers nor hides a loud syllable.
 */
export class LevelMeter {
  private level: Level = { rms: MIN_DBFS, peak: MIN_DBFS };

  constructor(private readonly releaseDbPerSecond = 20) {}

  /** Takes one frame that lasted `frameMs`, returns the smoothed level. */
  update(frame: ArrayLike<number>, frameMs: number): Level {
    const now = frameLevel(frame);
    const fall = (this.releaseDbPerSecond * frameMs) / 1000;
    this.level = {
      rms: Math.max(now.rms, this.level.rms - fall, MIN_DBFS),
      peak: Math.max(now.peak, this.level.peak - fall, MIN_DBFS),
    };
    return this.level;
  }

  get current(): Level {
    return this.level;
  }

  reset(): void {
    this.level = { rms: MIN_DBFS, peak: MIN_DBFS };
  }
}

/** A text bar for a terminal: `width` cells spanning floorDb..0 dBFS. */
export function meterBar(db: number, width = 20, floorDb = -60): string {
  const cells = Math.round(Math.min(1, Math.max(0, (db - floorDb) / -floorDb)) * width);
  return '█'.repeat(cells) + '·'.repeat(width - cells);
}
