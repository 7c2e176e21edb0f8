/**
 * Adaptive jitter buffer, codec-agnostic: it holds encoded frames by frame index (RTP
 * timestamp / samples per frame) and decides what the decoder gets next. It never changes the
 * delay itself: it says how far the delay is from where it should be, and the playout
 * (`playout.ts`) moves it by stretching or compressing decoded audio.
 *
 * Timing model: each primary frame's transit (arrival − index·frameMs) is recorded; the
 * smallest recent transit is the "nominal" arrival, and the lag of a frame is how long after
 * its nominal arrival it is decoded: the tick that needs it.
 * The target lag is a high quantile of recent transits above that floor (what delay would have
 * made them all on time), plus a safety margin, plus one frame while losses are being repaired
 * from redundancy (the copy of frame n travels with frame n+1). A missing frame is waited for
 * while the lag is below target or nothing newer has arrived, and given up (concealed) only
 * after that. The clock's phase is set when it starts, on the first arrival, so on a calm link
 * the lag is only the safety margin.
 */

import type { ComfortNoise } from '../protocol/comfort-noise';

export type FrameSource = 'primary' | 'redundant';

/** `discard`: frames skipped after a stall longer than the maximum delay; decode them first, play nothing. */
export type Next<T> =
  /** Decode `payload`. */
  | { kind: 'frame'; index: number; payload: T; source: FrameSource; discard: T[] }
  /** The frame is not here yet and is worth waiting for: play something longer, not a concealment. */
  | { kind: 'wait'; index: number; discard: T[] }
  /** The frame is given up: conceal it. */
  | { kind: 'missing'; index: number; discard: T[] }
  /** The sender is silent (DTX, mute) and said so: play comfort noise like `noise`. Not a loss. */
  | { kind: 'comfort'; index: number; noise: ComfortNoise; discard: T[] }
  /** No stream (not started, or paused): play silence. */
  | { kind: 'idle' };

export type PushResult = 'stored' | 'late' | 'duplicate' | 'ignored';

export interface JitterBufferOptions {
  frameMs: number;
  /** Safety margin over the measured transit spread, for timer and scheduling noise. */
  safetyMs?: number;
  /** The smallest target lag. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Transits remembered for the delay estimate. */
  windowFrames?: number;
  /** Fraction of the window that may arrive after the target: the rest must be on time. */
  quantile?: number;
  /** How long the lag must stay above target before the delay is brought down. */
  shrinkAfterMs?: number;
  /** How long after a loss the target keeps room for redundant copies. */
  lossHoldMs?: number;
  /** No packet for this long: the stream is paused; the next packet restarts it. */
  pauseAfterMs?: number;
  /** The same while playing comfort noise, whose packets come seldom (default 3 s: a muted sender's keep-alive is 1 s). */
  comfortPauseAfterMs?: number;
}

export interface JitterBufferStats {
  late: number;
  duplicate: number;
  /** Frames played from a redundant copy because their own packet was missing. */
  recovered: number;
  /** Frames given up and concealed. */
  concealed: number;
  /** Frames skipped unplayed after a stall longer than the maximum delay. */
  skipped: number;
  /** Frames the sender left out as silence (after a CN packet), played as comfort noise. */
  comfort: number;
  /** Lag of the last tick: how long after its nominal arrival a frame is decoded (ms). */
  delayMs: number;
  targetDelayMs: number;
}

type Outcome = 'played' | 'concealed' | 'dropped' | 'comfort';
const HISTORY = 256;
/** Distance from target tolerated without changing the delay (timer noise). */
const SLACK_MS = 2;

export class JitterBuffer<T> {
  private readonly frameMs: number;
  private readonly safetyMs: number;
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly quantile: number;
  private readonly shrinkTicks: number;
  private readonly lossHoldMs: number;
  private readonly pauseAfterMs: number;
  private readonly comfortPauseAfterMs: number;

  private readonly frames = new Map<number, { payload: T; source: FrameSource }>();
  private readonly history: ({ index: number; outcome: Outcome } | undefined)[] = new Array(HISTORY);
  private readonly transits: Float64Array;
  /** Scratch for the quantile: a typed array sorts numerically in place, allocating nothing. */
  private readonly sorted: Float64Array;
  private transitCount = 0;
  private transitPos = 0;
  private spreadCache: number | null = null;

  private nextIndex: number | null = null;
  private highestIndex = -Infinity;
  private base = 0;
  private lastArrival = -Infinity;
  private lastLossAt = -Infinity;
  private redundancySeen = false;
  private excessTicks = 0;
  /** From this frame on the sender is silent (a CN packet said so) until a frame of it comes; null while it speaks. */
  private comfortFrom: number | null = null;
  private noise: ComfortNoise | null = null;

  private readonly counters: JitterBufferStats = {
    late: 0,
    duplicate: 0,
    recovered: 0,
    concealed: 0,
    skipped: 0,
    comfort: 0,
    delayMs: 0,
    targetDelayMs: 0,
  };

  constructor(opts: JitterBufferOptions) {
    this.frameMs = opts.frameMs;
    this.safetyMs = opts.safetyMs ?? 3;
    this.minDelayMs = opts.minDelayMs ?? 0;
    this.maxDelayMs = opts.maxDelayMs ?? 400;
    this.quantile = opts.quantile ?? 0.97;
    this.transits = new Float64Array(opts.windowFrames ?? Math.max(50, Math.round(3000 / opts.frameMs)));
    this.sorted = new Float64Array(this.transits.length);
    this.shrinkTicks = Math.max(1, Math.round((opts.shrinkAfterMs ?? 600) / opts.frameMs));
    this.lossHoldMs = opts.lossHoldMs ?? 10_000;
    this.pauseAfterMs = opts.pauseAfterMs ?? 1000;
    this.comfortPauseAfterMs = opts.comfortPauseAfterMs ?? 3000;
    this.counters.targetDelayMs = this.minTarget();
  }

  /** Whether a stream is being played (the first frame arrived and no pause since). */
  get playing(): boolean {
    return this.nextIndex !== null;
  }

  /** Whether the next frame to play is comfort noise: the sender is silent. */
  get inComfort(): boolean {
    return this.nextIndex !== null && this.comfortFrom !== null && this.nextIndex >= this.comfortFrom && !this.frames.has(this.nextIndex);
  }

  stats(): JitterBufferStats {
    return { ...this.counters };
  }

  /** The lag a fresh stream starts at: when its first tick should come after the first arrival. */
  initialDelayMs(): number {
    return this.minTarget();
  }

  push(index: number, payload: T, source: FrameSource, arrivalMs: number): PushResult {
    if (source === 'redundant') this.redundancySeen = true;
    if (this.nextIndex === null || this.pausedAt(arrivalMs) || Math.abs(index - this.nextIndex) > 1000) {
      if (source === 'redundant') return 'ignored';
      this.restart(index, arrivalMs);
    }
    if (source === 'primary') {
      this.lastArrival = arrivalMs;
      this.recordTransit(arrivalMs - index * this.frameMs);
    }
    let next = this.nextIndex as number;
    // Speech after a silence whose comfort noise has already played past this frame: the delay
    // is picked again here (it grows), rather than the talkspurt's start being thrown away.
    if (index < next && source === 'primary' && this.comfortFrom !== null && index >= this.comfortFrom && index > this.highestIndex) {
      this.nextIndex = next = index;
    }
    if (index < next) {
      if (source === 'redundant') return 'ignored';
      const past = this.history[index % HISTORY];
      if (past && past.index === index && past.outcome === 'played') {
        this.counters.duplicate++;
        return 'duplicate';
      }
      this.counters.late++;
      return 'late';
    }
    const held = this.frames.get(index);
    if (held) {
      if (source === 'primary' && held.source === 'primary') {
        this.counters.duplicate++;
        return 'duplicate';
      }
      return 'ignored';
    }
    this.frames.set(index, { payload, source });
    if (index > this.highestIndex) this.highestIndex = index;
    return 'stored';
  }

  /**
   * The sender says it is silent from frame `index` on (an RFC 3389 CN packet, at that frame's
   * timestamp): frames from there that do not come are comfort noise, not losses. A CN packet
   * keeps the stream alive and starts one that is not playing; one older than a frame already
   * here only updates the noise.
   */
  comfort(index: number, noise: ComfortNoise, arrivalMs: number): void {
    if (this.nextIndex === null || this.pausedAt(arrivalMs) || Math.abs(index - this.nextIndex) > 1000) this.restart(index, arrivalMs);
    this.lastArrival = Math.max(this.lastArrival, arrivalMs);
    this.recordTransit(arrivalMs - index * this.frameMs);
    if (index <= this.highestIndex) {
      if (this.comfortFrom !== null) this.noise = noise;
      return;
    }
    this.noise = noise;
    if (this.comfortFrom === null || index < this.comfortFrom) this.comfortFrom = index;
  }

  /** The next frame, needed at `nowMs`: the frame, or whether to wait for it or give it up. */
  pull(nowMs: number): Next<T> {
    if (this.nextIndex === null) return { kind: 'idle' };
    if (this.pausedAt(nowMs)) {
      this.reset();
      return { kind: 'idle' };
    }
    const target = this.target(nowMs);
    const discard = this.flushStall(this.lag(nowMs, 0) - target);
    const index = this.nextIndex;
    const held = this.take(nowMs);
    if (held) return { ...held, discard };
    if (this.comfortFrom !== null && index >= this.comfortFrom && this.noise) {
      this.advance('comfort');
      this.counters.comfort++;
      return { kind: 'comfort', index, noise: this.noise, discard };
    }
    // While nothing newer has come the link is stalled, not lossy: wait (up to the maximum
    // delay) rather than give the frame up. Once newer frames are here, wait only up to the
    // target, which covers reordering within the measured spread.
    const lag = this.lag(nowMs, 0);
    if ((this.highestIndex < index || lag < target) && lag + this.frameMs <= this.maxDelayMs) {
      return { kind: 'wait', index, discard };
    }
    this.advance('concealed');
    this.counters.concealed++;
    this.lastLossAt = nowMs;
    return { kind: 'missing', index, discard };
  }

  /** The next frame if it is here (to decode ahead, e.g. for room to compress), else null. */
  take(nowMs: number): Extract<Next<T>, { kind: 'frame' }> | null {
    if (this.nextIndex === null) return null;
    const index = this.nextIndex;
    const held = this.frames.get(index);
    if (!held) return null;
    this.frames.delete(index);
    this.advance('played');
    if (this.comfortFrom !== null && index >= this.comfortFrom) this.comfortFrom = null;
    if (held.source === 'redundant') {
      this.counters.recovered++;
      this.lastLossAt = nowMs;
    }
    return { kind: 'frame', index, payload: held.payload, source: held.source, discard: [] };
  }

  /** Whether the next frame should have come by now and has not: a phase excess is then no phase at all. */
  overdue(nowMs: number): boolean {
    const index = this.nextIndex;
    return index !== null && !this.frames.has(index) && !this.inComfort && this.nominalArrival(index) <= nowMs;
  }

  /** No packet for longer than a stream may stay quiet: it has stopped. */
  private pausedAt(nowMs: number): boolean {
    return nowMs - this.lastArrival > (this.comfortFrom !== null ? this.comfortPauseAfterMs : this.pauseAfterMs);
  }

  /**
   * How far (ms) the playout should move its delay, once a tick, when the next frame will be
   * needed `aheadMs` from now: positive to grow (at once: a late frame is coming), negative to
   * shrink (only after the lag has stayed above target for a while), 0 to hold.
   */
  adjustment(nowMs: number, aheadMs: number): number {
    if (this.nextIndex === null) return 0;
    const target = this.target(nowMs);
    const lag = this.lag(nowMs, aheadMs);
    this.counters.delayMs = lag;
    this.counters.targetDelayMs = target;
    const excess = lag - target;
    this.excessTicks = excess > SLACK_MS ? this.excessTicks + 1 : 0;
    if (this.excessTicks >= this.shrinkTicks) return -excess;
    return excess < -SLACK_MS ? -excess : 0;
  }

  private minTarget(): number {
    return Math.max(this.minDelayMs, this.safetyMs);
  }

  private target(nowMs: number): number {
    const repair = this.redundancySeen && nowMs - this.lastLossAt < this.lossHoldMs ? this.frameMs : 0;
    const t = Math.max(this.minDelayMs, this.spread() + this.safetyMs) + repair;
    return Math.min(this.maxDelayMs, t);
  }

  /** How far the `quantile` transit lies above the fastest one in the window (ms). */
  private spread(): number {
    if (this.spreadCache === null) {
      const n = this.transitCount;
      if (n === 0) return 0;
      const sorted = this.sorted.subarray(0, n);
      sorted.set(this.transits.subarray(0, n));
      sorted.sort();
      this.spreadCache = sorted[Math.min(n - 1, Math.floor(this.quantile * n))] - this.base;
    }
    return this.spreadCache;
  }

  private recordTransit(transit: number): void {
    this.transits[this.transitPos] = transit;
    this.transitPos = (this.transitPos + 1) % this.transits.length;
    if (this.transitCount < this.transits.length) this.transitCount++;
    // The floor follows the window, so clock drift between the two ends cannot strand it.
    let min = Infinity;
    for (let i = 0; i < this.transitCount; i++) if (this.transits[i] < min) min = this.transits[i];
    this.base = min;
    this.spreadCache = null;
  }

  private nominalArrival(index: number): number {
    return this.base + index * this.frameMs;
  }

  /** How long after its nominal arrival the next frame is needed, if that is `aheadMs` from now. */
  private lag(nowMs: number, aheadMs: number): number {
    return nowMs + aheadMs - this.nominalArrival(this.nextIndex as number);
  }

  /**
   * Beyond the maximum delay (a long stall, then everything at once) the excess frames are
   * skipped at once: stretching would take seconds to play them out.
   */
  private flushStall(excess: number): T[] {
    const discard: T[] = [];
    if (excess <= this.maxDelayMs) return discard;
    for (let i = Math.floor(excess / this.frameMs); i > 0; i--) {
      const held = this.frames.get(this.nextIndex as number);
      if (held) {
        this.frames.delete(this.nextIndex as number);
        discard.push(held.payload);
      }
      this.advance('dropped');
      this.counters.skipped++;
    }
    return discard;
  }

  private advance(outcome: Outcome): void {
    const index = this.nextIndex as number;
    this.history[index % HISTORY] = { index, outcome };
    this.nextIndex = index + 1;
  }

  private restart(index: number, arrivalMs: number): void {
    this.reset();
    this.nextIndex = index;
    this.lastArrival = arrivalMs;
  }

  private reset(): void {
    this.frames.clear();
    this.history.fill(undefined);
    this.transitCount = 0;
    this.transitPos = 0;
    this.spreadCache = null;
    this.nextIndex = null;
    this.highestIndex = -Infinity;
    this.excessTicks = 0;
    this.comfortFrom = null;
    this.noise = null;
  }
}
