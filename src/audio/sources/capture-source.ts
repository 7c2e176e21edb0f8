/**
 * A microphone: audio captured by some backend (a recorder process, PulseAudio's capture
 * thread), captured at 48 kHz mono S16_LE and handed on one frame per frame period.
 *
 * open() starts capturing and resolves once the device delivers audio: a microphone that will
 * not open is known before anyone is called. Until start() the newest audio is kept and the
 * rest dropped, so a call starts with what is said now, not with what was said while it rang.
 *
 * Capture is re-paced by our own clock rather than passed on as it arrives: a device's clock
 * drifts from ours, and ALSA's file plugin (used in tests) delivers as fast as it is read. So
 * samples queue in a FIFO and leave one frame per period, never far ahead of the clock. Every
 * sample that waits in the queue is latency, so the queue is kept as short as the device
 * allows:
 * - start-up begins with the newest frame (a device may hand over a backlog first);
 * - a frame goes out as soon as it is complete, near its tick: up to one frame period early
 *   (a device's periods jitter, and at times two arrive at once; the clock keeps the average
 *   rate, so a device faster than real time still gains at most one frame), or up to
 *   `graceMs` late, in which case the clock's schedule moves by the wait, so ticks follow a
 *   device slower than our clock; a frame still incomplete then becomes silence (an underrun);
 * - what the queue never drops below over 50 frames (10, then 25, at the start) is standing
 *   delay, and is taken out a pitch period at a time by time-stretching (anything in silence),
 *   never cut, so what is said stays whole;
 * - past `maxBufferMs` (a stall, or a device faster than real time) the oldest are dropped.
 * Underruns and drops are counted in `stats`.
 *
 * After an overflow the backend may pause for half a frame period (see Capture.pause).
 */
import { ALSA_PERIOD_US } from '../alsa';
import { AudioError } from '../errors';
import type { TimerHandle } from '../timers';
import { SAMPLE_RATE, type Frame } from '../types';
import { leToInt16 } from '../wav';
import { PacedSource, type PacedSourceOptions } from './paced-source';
import { SampleFifo } from './sample-fifo';
import { TimeStretcher } from '../time-stretch';

export interface MicStats {
  /** Frames handed out with audio, and silent frames sent because the queue ran dry. */
  frames: number;
  underruns: number;
  /** Samples taken out since start(): the oldest when the queue overflowed, and standing delay (by time-stretching). */
  droppedSamples: number;
}

export interface CaptureOptions extends PacedSourceOptions {
  /** Queue above which the oldest audio is dropped. */
  maxBufferMs?: number;
  /** How long the device may take to deliver its first audio. */
  openTimeoutMs?: number;
}

/** What a backend's capture calls back with. */
export interface CaptureEvents {
  /** Captured bytes, S16_LE (a chunk may end mid-sample). */
  data(bytes: Buffer): void;
  /** The capture failed or ended: `reason` for the one-line message, `detail` for verbose output. */
  fail(reason: string, detail: string): void;
}

/** A running capture. */
export interface Capture {
  stop(): void;
  /** Stops reading for `ms` (after an overflow), where the backend can. */
  pause?(ms: number): void;
}

/** The period every capture backend is asked to deliver in: what is kept before start(). */
export const CAPTURE_PERIOD_MS = ALSA_PERIOD_US / 1000;
const PERIOD_SAMPLES = (SAMPLE_RATE * CAPTURE_PERIOD_MS) / 1000;
/**
 * Ticks over which the queue's low point is watched for standing delay: 50, after two shorter
 * windows, so that what start-up leaves queued (audio that arrived in bursts while the call was
 * being set up) is cut within the call's first second instead of later.
 */
const LEVEL_WINDOWS_TICKS = [10, 25, 50];
/** Audio looked at for a period to take out of standing delay: two longest pitch periods. */
const COMPRESS_SPAN = (SAMPLE_RATE * 40) / 1000;
/** Standing delay tolerated: less than this is not worth a cut in the audio. */
const SLACK_SAMPLES = SAMPLE_RATE / 500;

/** How long a tick waits for its frame: two capture periods, at most a frame (a loaded machine delivers a period late now and then; silence for it is a gap in speech). */
const graceMs = (samples: number) => Math.min(2 * CAPTURE_PERIOD_MS, (samples * 1000) / SAMPLE_RATE);

export abstract class CaptureSource extends PacedSource {
  /** How messages name this input, e.g. "the microphone (arecord)". */
  protected abstract readonly label: string;
  readonly stats: MicStats = { frames: 0, underruns: 0, droppedSamples: 0 };
  private readonly captureOpts: CaptureOptions;
  private capture: Capture | undefined;
  private fifo = new SampleFifo(SAMPLE_RATE);
  /** The frame size once started; until then audio is only kept fresh. */
  private frameSamples: number | undefined;
  private stopping = false;
  /** A tick waiting for its frame to complete: since when, and the silence that ends the wait. */
  private waiting: { since: number; timer: TimerHandle } | undefined;
  private lowLevel = Infinity;
  private windowTicks = 0;
  private windowsDone = 0;
  /** Standing delay found and still to be taken out, in samples. */
  private excess = 0;
  private readonly stretcher = new TimeStretcher();

  constructor(opts: CaptureOptions = {}) {
    super(opts);
    this.captureOpts = opts;
  }

  /** The AudioError to refuse open() with when the backend is not there. */
  protected abstract missing(): AudioError | undefined;
  /** Starts capturing; throws an AudioError when it cannot even start. */
  protected abstract startCapture(on: CaptureEvents): Capture;

  /** Capture delay the device reports, in ms (undefined where the backend cannot tell). */
  latencyMs(): number | undefined {
    return undefined;
  }

  protected override prepare(): Promise<void> {
    const missing = this.missing();
    if (missing) return Promise.reject(missing);
    const maxSamples = ((this.captureOpts.maxBufferMs ?? 200) * SAMPLE_RATE) / 1000;
    const openTimeoutMs = this.captureOpts.openTimeoutMs ?? 3000;
    this.stopping = false;
    this.frameSamples = undefined;
    this.fifo = new SampleFifo(2 * maxSamples);

    return new Promise((resolve, reject) => {
      let opened = false;
      let capture: Capture | undefined;
      const current = () => capture !== undefined && this.capture === capture;
      const fail = (reason: string, detail: string) => {
        if (!opened) {
          opened = true;
          this.timers.clearTimeout(timer);
          if (current()) this.kill();
          reject(new AudioError('input_device', `${this.label} would not open: ${reason}`, { detail }));
        } else if (current() && !this.stopping) {
          void this.stop();
          // Nobody listening (opened ahead of a call): the next start() opens afresh.
          if (this.listenerCount('error') > 0) this.emit('error', new AudioError('input_device', `${this.label} stopped: ${reason}`, { detail }));
        }
      };
      const timer = this.timers.setTimeout(() => {
        const what = `delivered no audio within ${openTimeoutMs} ms`;
        fail(what, `${this.description} ${what}`);
      }, openTimeoutMs);

      let carry: Buffer | undefined;
      const data = (chunk: Buffer) => {
        if (!current()) return;
        const bytes = carry ? Buffer.concat([carry, chunk]) : chunk;
        const even = bytes.length & ~1;
        carry = even < bytes.length ? bytes.subarray(even) : undefined;
        this.fifo.push(leToInt16(bytes.subarray(0, even)));
        const samples = this.frameSamples;
        const keep = samples ?? PERIOD_SAMPLES;
        if (this.fifo.length > maxSamples) {
          const dropped = this.fifo.trimTo(keep);
          if (samples !== undefined) this.stats.droppedSamples += dropped;
          this.capture?.pause?.((keep * 500) / SAMPLE_RATE);
        }
        if (!opened && this.fifo.length >= PERIOD_SAMPLES) {
          opened = true;
          this.timers.clearTimeout(timer);
          resolve();
        }
        if (samples === undefined || this.fifo.length < samples) return;
        if (this.waiting) {
          const { since, timer: grace } = this.waiting;
          this.timers.clearTimeout(grace);
          this.waiting = undefined;
          this.deliverLate(this.take(samples)!, this.timers.now() - since);
        } else {
          this.pullEarly((samples * 1000) / SAMPLE_RATE);
        }
      };
      // Events can come synchronously from startCapture: `capture` is set before they count.
      const events: CaptureEvents = { data: (b) => data(b), fail: (r, d) => fail(r, d) };
      try {
        capture = this.startCapture(events);
        this.capture = capture;
      } catch (err) {
        opened = true;
        this.timers.clearTimeout(timer);
        reject(err instanceof AudioError ? err : new AudioError('input_device', `${this.label} would not open: ${(err as Error).message}`, { cause: err }));
      }
    });
  }

  /** Starts from the newest frame: what queued while the call was being set up is old. */
  protected override begin(samples: number): void {
    this.frameSamples = samples;
    this.stats.frames = 0;
    this.stats.underruns = 0;
    this.stats.droppedSamples = this.fifo.trimTo(samples);
    this.lowLevel = Infinity;
    this.windowTicks = 0;
    this.windowsDone = 0;
    this.excess = 0;
  }

  protected nextFrame(samples: number): Frame | undefined {
    const frame = this.take(samples);
    if (frame) return frame;
    const timer = this.timers.setTimeout(() => {
      this.waiting = undefined;
      this.stats.underruns++;
      this.deliverLate(new Int16Array(samples), 0);
    }, graceMs(samples));
    this.waiting = { since: this.timers.now(), timer };
    return undefined;
  }

  /** The next frame from the queue, or null; drops standing delay seen over a window of ticks. */
  private take(samples: number): Frame | null {
    // Every other frame at most, so speech is not hurried audibly.
    if (this.excess > SLACK_SAMPLES && this.stats.frames % 2 === 0) {
      const removed = this.fifo.compress(samples + COMPRESS_SPAN, Math.min(this.excess, this.fifo.length - samples, COMPRESS_SPAN / 2), this.stretcher);
      this.excess -= removed;
      this.stats.droppedSamples += removed;
    }
    const frame = this.fifo.shift(samples);
    if (!frame) return null;
    this.stats.frames++;
    this.lowLevel = Math.min(this.lowLevel, this.fifo.length);
    const windowTicks = LEVEL_WINDOWS_TICKS[Math.min(this.windowsDone, LEVEL_WINDOWS_TICKS.length - 1)];
    if (++this.windowTicks >= windowTicks) {
      if (this.lowLevel > SLACK_SAMPLES) this.excess = this.lowLevel;
      this.lowLevel = Infinity;
      this.windowTicks = 0;
      this.windowsDone++;
    }
    return frame;
  }

  protected override async release(): Promise<void> {
    this.stopping = true;
    this.frameSamples = undefined;
    this.kill();
  }

  private kill(): void {
    this.timers.clearTimeout(this.waiting?.timer);
    this.waiting = undefined;
    const capture = this.capture;
    this.capture = undefined;
    capture?.stop();
  }
}
