import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { ToneSource } from '../../src/audio';
import type { AudioSink, Frame } from '../../src/audio/types';
import { concatFrames } from '../helpers/audio';

/** Keeps every frame the playout clock writes, with when it was written. */
export class RecordingSink extends EventEmitter implements AudioSink {
  readonly description = 'recording';
  readonly frames: Frame[] = [];
  readonly times: number[] = [];
  opened = false;
  closed = false;

  async open(): Promise<void> {
    this.opened = true;
  }

  write(frame: Frame): void {
    this.frames.push(frame.slice());
    this.times.push(performance.now());
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  samples(fromFrame = 0, toFrame = this.frames.length): Int16Array {
    return concatFrames(this.frames.slice(fromFrame, toFrame));
  }
}

/**
 * How long this process's event loop was held up while a call ran: the machine's scheduling,
 * measured. Both phones, and any proxy, run on this loop, so a stall here is a stall of their
 * clocks and sockets. Real-time tests allow for exactly what was measured, and no more: on a
 * calm machine nothing.
 */
export class LoopStalls {
  private last = performance.now();
  private readonly stalls: number[] = [];
  /** When each stall was, in performance.now() time. */
  readonly spans: { from: number; to: number }[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly everyMs = 5,
    /** Lateness below this is timer noise, not a stall. */
    private readonly thresholdMs = 8,
  ) {
    this.timer = setInterval(() => {
      const now = performance.now();
      const late = now - this.last - this.everyMs;
      if (late > this.thresholdMs) {
        this.stalls.push(late);
        this.spans.push({ from: now - late - this.everyMs, to: now });
      }
      this.last = now;
    }, everyMs);
    // Watching must not keep a test's process alive.
    this.timer.unref();
  }

  stop(): this {
    clearInterval(this.timer);
    return this;
  }

  /** Frames of `frameMs` the stalls could have disturbed: each its length in frames, plus the one it began in. */
  frames(frameMs: number): number {
    return this.stalls.reduce((n, s) => n + Math.ceil(s / frameMs) + 1, 0);
  }

  get totalMs(): number {
    return this.stalls.reduce((a, b) => a + b, 0);
  }
}

/**
 * The latest `frames` frames `sink` played that no loop stall touched: none began while a stall
 * ran, nor within `settleMs` after one (a stream's buffer is still taking up what piled up), none
 * before `fromFrame`; null when every such stretch was touched.
 */
export function calmWindow(sink: RecordingSink, stalls: LoopStalls, frames: number, settleMs = 300, fromFrame = 0): Int16Array | null {
  for (let end = sink.frames.length; end - frames >= fromFrame; end--) {
    const from = sink.times[end - frames];
    const to = sink.times[end - 1];
    if (!stalls.spans.some((s) => s.from <= to && s.to + settleMs >= from)) return sink.samples(end - frames, end);
  }
  return null;
}

/** A tone that keeps what it produced: the frames handed to the call or room. */
export class TappedTone extends ToneSource {
  readonly made: Frame[] = [];
  protected override nextFrame(samples: number): Frame {
    const f = super.nextFrame(samples);
    this.made.push(f);
    return f;
  }
}
