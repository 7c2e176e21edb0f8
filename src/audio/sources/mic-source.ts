/**
 * The microphone: arecord or sox started through node-record-lpcm16 with recorder modules of
 * our own (small ALSA periods, see recorders/), captured at 48 kHz mono S16_LE.
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
 * - what the queue never drops below over 50 frames is standing delay, and is dropped;
 * - past `maxBufferMs` (a stall, or a device faster than real time) the oldest are dropped.
 * Underruns and drops are counted in `stats`.
 *
 * After an overflow, reading pauses for half a frame period. A real device only overflows after
 * a stall, and the pipe holds the next period meanwhile, so nothing more is lost; a device
 * that outruns real time is then read once a period instead of spinning a core.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { SAMPLE_RATE, type Frame } from '../types';
import { findExecutable, INSTALL_HINTS } from '../devices';
import { leToInt16 } from '../wav';
import { PacedSource } from './paced-source';
import { SampleFifo } from './sample-fifo';

export type Recorder = 'arecord' | 'sox';

export interface MicOptions {
  recorder?: Recorder;
  /** ALSA device name; "default" unless given. */
  device?: string;
  /** Environment of the recorder process (e.g. ALSA_CONFIG_PATH). */
  env?: NodeJS.ProcessEnv;
  /** Queue above which the oldest audio is dropped. */
  maxBufferMs?: number;
  /** How long the device may take to deliver its first audio. */
  openTimeoutMs?: number;
}

export interface MicStats {
  /** Frames handed out with audio, and silent frames sent because the queue ran dry. */
  frames: number;
  underruns: number;
  /** Samples thrown away because the queue grew too long. */
  droppedSamples: number;
}

/** ALSA period asked of the recorder: short, because capture latency is about one period. */
const PERIOD_US = 10000;
/** Ticks over which the queue's low point is watched for standing delay. */
const LEVEL_WINDOW_TICKS = 50;
/** Standing delay tolerated: less than this is not worth a cut in the audio. */
const SLACK_SAMPLES = SAMPLE_RATE / 500;

/** How long a tick waits for its frame: one ALSA period, at most half a frame. */
const graceMs = (samples: number) => Math.min(PERIOD_US / 1000, (samples * 500) / SAMPLE_RATE);

interface Recording {
  process: ChildProcess;
  stream(): Readable;
  stop(): void;
}

export class MicSource extends PacedSource {
  readonly description: string;
  readonly recorder: Recorder;
  readonly stats: MicStats = { frames: 0, underruns: 0, droppedSamples: 0 };
  private readonly device: string;
  private readonly opts: MicOptions;
  private recording: Recording | undefined;
  private fifo = new SampleFifo(SAMPLE_RATE);
  private stopping = false;
  private stderr = '';
  private resumeTimer: NodeJS.Timeout | undefined;
  /** A tick waiting for its frame to complete: since when, and the silence that ends the wait. */
  private waiting: { since: number; timer: NodeJS.Timeout } | undefined;
  private lowLevel = Infinity;
  private windowTicks = 0;

  constructor(opts: MicOptions = {}) {
    super();
    this.opts = opts;
    this.recorder = opts.recorder ?? 'arecord';
    this.device = opts.device ?? 'default';
    this.description = `mic ${this.recorder} ${this.device}`;
  }

  protected override prepare(samples: number): Promise<void> {
    const { recorder, device } = this;
    if (!findExecutable(recorder)) {
      return Promise.reject(
        new Error(`microphone: ${recorder} is not installed (${INSTALL_HINTS[recorder]}), or use a WAV file as input`),
      );
    }
    let record: (options: object) => Recording;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      record = require('node-record-lpcm16').record;
    } catch {
      return Promise.reject(new Error(`microphone: node-record-lpcm16 is not installed (${INSTALL_HINTS['node-record-lpcm16']})`));
    }
    const maxSamples = ((this.opts.maxBufferMs ?? 200) * SAMPLE_RATE) / 1000;
    this.stopping = false;
    this.lowLevel = Infinity;
    this.windowTicks = 0;
    this.stderr = '';
    this.fifo = new SampleFifo(2 * maxSamples);

    return new Promise((resolve, reject) => {
      let started = false;
      const fail = (reason: string) => {
        const err = new Error(`microphone (${recorder}, device "${device}") ${reason}${this.stderrText()}`);
        if (!started) {
          started = true;
          this.stopping = true;
          clearTimeout(timer);
          this.kill();
          reject(err);
        } else if (!this.stopping) {
          void this.stop();
          this.emit('error', err);
        }
      };
      const timer = setTimeout(() => fail(`delivered no audio within ${this.opts.openTimeoutMs ?? 3000} ms`), this.opts.openTimeoutMs ?? 3000);

      const recording = record({
        sampleRate: SAMPLE_RATE,
        channels: 1,
        audioType: 'raw',
        recorder: join(__dirname, 'recorders', recorder),
        device,
        periodUs: PERIOD_US,
        env: this.opts.env ?? process.env,
      });
      this.recording = recording;
      const cp = recording.process;
      cp.on('error', (err) => fail(`could not start: ${err.message}`));
      cp.stderr?.on('data', (chunk: Buffer) => {
        this.stderr = (this.stderr + chunk.toString()).slice(-2000);
      });
      cp.on('close', (code, signal) => fail(signal ? `was killed by ${signal}` : `exited with code ${code}`));

      let carry: Buffer | undefined;
      const stream = recording.stream();
      // node-record-lpcm16 reports a non-zero exit here as a string; 'close' above says more.
      stream.on('error', () => {});
      stream.on('data', (chunk: Buffer) => {
        const bytes = carry ? Buffer.concat([carry, chunk]) : chunk;
        const even = bytes.length & ~1;
        carry = even < bytes.length ? bytes.subarray(even) : undefined;
        this.fifo.push(leToInt16(bytes.subarray(0, even)));
        if (this.fifo.length > maxSamples) {
          this.stats.droppedSamples += this.fifo.trimTo(samples);
          stream.pause();
          this.resumeTimer = setTimeout(() => stream.resume(), (samples * 500) / SAMPLE_RATE);
        }
        if (!started && this.fifo.length >= samples) {
          started = true;
          clearTimeout(timer);
          this.stats.droppedSamples += this.fifo.trimTo(samples);
          resolve();
        }
        if (this.waiting && this.fifo.length >= samples) {
          const { since, timer: grace } = this.waiting;
          clearTimeout(grace);
          this.waiting = undefined;
          this.deliverLate(this.take(samples)!, performance.now() - since);
        } else if (!this.waiting && this.fifo.length >= samples) {
          this.pullEarly((samples * 1000) / SAMPLE_RATE);
        }
      });
    });
  }

  protected nextFrame(samples: number): Frame | undefined {
    const frame = this.take(samples);
    if (frame) return frame;
    const timer = setTimeout(() => {
      this.waiting = undefined;
      this.stats.underruns++;
      this.deliverLate(new Int16Array(samples), 0);
    }, graceMs(samples));
    this.waiting = { since: performance.now(), timer };
    return undefined;
  }

  /** The next frame from the queue, or null; drops standing delay seen over a window of ticks. */
  private take(samples: number): Frame | null {
    const frame = this.fifo.shift(samples);
    if (!frame) return null;
    this.stats.frames++;
    this.lowLevel = Math.min(this.lowLevel, this.fifo.length);
    if (++this.windowTicks >= LEVEL_WINDOW_TICKS) {
      if (this.lowLevel > SLACK_SAMPLES) this.stats.droppedSamples += this.fifo.trimTo(this.fifo.length - this.lowLevel);
      this.lowLevel = Infinity;
      this.windowTicks = 0;
    }
    return frame;
  }

  protected override async release(): Promise<void> {
    this.stopping = true;
    this.kill();
  }

  private kill(): void {
    clearTimeout(this.resumeTimer);
    clearTimeout(this.waiting?.timer);
    this.waiting = undefined;
    const recording = this.recording;
    this.recording = undefined;
    if (!recording) return;
    const cp = recording.process;
    // sox finishes its pending write before honouring SIGTERM: closing the pipe ends that
    // write (EPIPE) whether or not reading was paused, and SIGKILL covers a hung recorder.
    cp.stdout?.destroy();
    if (cp.exitCode === null && cp.signalCode === null) {
      recording.stop();
      const timer = setTimeout(() => cp.kill('SIGKILL'), 1000);
      timer.unref();
      cp.once('exit', () => clearTimeout(timer));
    }
  }

  private stderrText(): string {
    const text = this.stderr.trim();
    return text ? `: ${text}` : '';
  }
}
