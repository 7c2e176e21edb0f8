import { TimeStretcher } from '../audio/time-stretch';
import { SAMPLE_RATE, frameSamples, type Frame } from '../audio/types';
import type { JitterBuffer } from './jitter-buffer';
import { SyncBuffer } from './sync-buffer';

/** What playout needs of a decoder: one frame from a payload, or one frame of concealment. */
export interface FrameDecoder<T> {
  decode(payload: T): Frame;
  conceal(): Frame;
}

export interface PlayoutStats {
  /** Ticks that played the stream (not idle). */
  framesPlayed: number;
  /** Audio made up for frames given up (codec concealment), ms. */
  concealedMs: number;
  /** Audio added by stretching to let the delay grow (waiting for a late frame), ms. */
  insertedMs: number;
  /** Audio taken out by compressing to let the delay shrink (and frames skipped after a long stall), ms. */
  removedMs: number;
  /** Decoder output that was not one frame long (a codec's fault): replaced by silence. */
  misshapen: number;
}

/** Played audio kept for the stretcher: a longest period and a correlation window, with room. */
const HISTORY_MS = 40;
/** Queued audio wanted beyond this tick's frame before stretching: two longest periods. */
const STRETCH_ROOM_MS = 40;

/** How far past target a period repeated to grow may take the delay (a period rarely fits exactly). */
const GROW_OVERSHOOT_MS = 2;

/** A phase excess under this is timer noise: the clock is not retimed for it. */
const RETIME_SLACK_MS = 2;

/**
 * The receive side's playout, one frame per clock tick (NetEq's shape): frames from the jitter
 * buffer are decoded into a sync buffer, and the tick plays the next frame's worth from it.
 * The delay changes only by time-scale modification of that decoded audio, a pitch period at
 * a time (or freely in silence): a frame not here yet is waited for by extending what was
 * played by whole periods, a delay under target grows by repeating a period, one over target
 * shrinks by removing a period where the audio repeats well. Codec concealment is only for
 * frames given up. Nothing is ever inserted or dropped as a whole frame.
 */
export class Playout<T> {
  private readonly samples: number;
  private readonly sync = new SyncBuffer(msToSamples(HISTORY_MS));
  private readonly stretcher = new TimeStretcher();
  private readonly counts = { framesPlayed: 0, concealed: 0, inserted: 0, removed: 0, misshapen: 0 };

  constructor(
    private readonly buffer: JitterBuffer<T>,
    private readonly decoder: FrameDecoder<T>,
    private readonly frameMs: number,
    /** Brings the playout clock's next tick (and the rest of its schedule) `ms` sooner. */
    private readonly retime: (ms: number) => void,
  ) {
    this.samples = frameSamples(frameMs);
  }

  /** The frame to play at `nowMs`: silence while no stream plays. */
  tick(nowMs: number): Frame {
    const n = this.samples;
    while (this.sync.queued < n) {
      const next = this.buffer.pull(nowMs, this.queuedMs());
      if (next.kind === 'idle') break;
      for (const d of next.discard) this.decoder.decode(d);
      if (next.kind === 'frame') this.sync.append(this.checked(this.decoder.decode(next.payload)));
      else if (next.kind === 'missing') {
        this.sync.append(this.checked(this.decoder.conceal()));
        this.counts.concealed += n;
      } else {
        const more = this.stretcher.extend(this.sync.past(), n - this.sync.queued);
        this.sync.append(more);
        this.counts.inserted += more.length;
      }
    }
    if (this.sync.queued === 0) return this.sync.play(n);
    if (this.sync.queued >= n) this.adjust(nowMs);
    this.counts.framesPlayed++;
    return this.sync.play(n);
  }

  stats(): PlayoutStats {
    const c = this.counts;
    return {
      framesPlayed: c.framesPlayed,
      concealedMs: samplesToMs(c.concealed),
      insertedMs: samplesToMs(c.inserted),
      removedMs: samplesToMs(c.removed) + this.buffer.stats().skipped * this.frameMs,
      misshapen: c.misshapen,
    };
  }

  /** Moves the delay toward the jitter buffer's target by stretching or compressing what is queued. */
  private adjust(nowMs: number): void {
    const change = msToSamples(this.buffer.adjustment(nowMs, this.queuedMs()));
    if (change === 0) return;
    // Decoding ahead changes no delay (the lag counts what is queued) and gives room for a period.
    const room = this.samples + msToSamples(STRETCH_ROOM_MS);
    while (this.sync.queued < room) {
      const f = this.buffer.take(nowMs);
      if (!f) break;
      this.sync.append(this.checked(this.decoder.decode(f.payload)));
    }
    const queued = this.sync.unplayed();
    // What is played now must stay a whole frame: only audio queued beyond it can be removed.
    // The rest of an excess is the clock's phase (frames arrive that long before their tick),
    // which only an earlier tick takes off; the audio is left as it is.
    const spare = queued.length - this.samples;
    if (change < 0 && -change - spare > msToSamples(RETIME_SLACK_MS)) this.retime(Math.min(samplesToMs(-change - spare), this.frameMs - 1));
    const r =
      change < 0
        ? this.stretcher.accelerate(queued, Math.min(-change, spare))
        : this.stretcher.expand(queued, change + msToSamples(GROW_OVERSHOOT_MS));
    if (r.change === 0) return;
    this.sync.replaceUnplayed(r.samples);
    if (r.change > 0) this.counts.inserted += r.change;
    else this.counts.removed -= r.change;
  }

  private queuedMs(): number {
    return samplesToMs(this.sync.queued);
  }

  private checked(frame: Frame): Frame {
    if (frame.length === this.samples) return frame;
    this.counts.misshapen++;
    return new Int16Array(this.samples);
  }
}

function msToSamples(ms: number): number {
  return Math.round((ms * SAMPLE_RATE) / 1000);
}

function samplesToMs(n: number): number {
  return (n * 1000) / SAMPLE_RATE;
}
