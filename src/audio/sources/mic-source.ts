/**
 * The microphone: arecord or sox started through node-record-lpcm16 with recorder modules of
 * our own (small ALSA periods, see ../alsa.ts), captured at 48 kHz mono S16_LE.
 *
 * open() starts the recorder and resolves once the device delivers audio: a microphone that
 * will not open is known before anyone is called. Until start() the newest audio is kept and
 * the rest dropped, so a call starts with what is said now, not with what was said while it rang.
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
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { ALSA_PERIOD_US, alsaReason } from '../alsa';
import { AudioError } from '../errors';
import { findExecutable, INSTALL_HINTS } from '../programs';
import type { TimerHandle } from '../timers';
import { SAMPLE_RATE, type Frame } from '../types';
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
  /** Samples thrown away because the queue grew too long (counted from start()). */
  droppedSamples: number;
}

/** One ALSA period of samples: the unit audio arrives in, and what is kept before start(). */
const PERIOD_SAMPLES = (SAMPLE_RATE * ALSA_PERIOD_US) / 1e6;
/** Ticks over which the queue's low point is watched for standing delay. */
const LEVEL_WINDOW_TICKS = 50;
/** Standing delay tolerated: less than this is not worth a cut in the audio. */
const SLACK_SAMPLES = SAMPLE_RATE / 500;

/** How long a tick waits for its frame: one ALSA period, at most half a frame. */
const graceMs = (samples: number) => Math.min(ALSA_PERIOD_US / 1000, (samples * 500) / SAMPLE_RATE);

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
  /** The frame size once started; until then audio is only kept fresh. */
  private frameSamples: number | undefined;
  private stopping = false;
  private stderr = '';
  private resumeTimer: TimerHandle | undefined;
  /** A tick waiting for its frame to complete: since when, and the silence that ends the wait. */
  private waiting: { since: number; timer: TimerHandle } | undefined;
  private lowLevel = Infinity;
  private windowTicks = 0;

  constructor(opts: MicOptions = {}) {
    super();
    this.opts = opts;
    this.recorder = opts.recorder ?? 'arecord';
    this.device = opts.device ?? 'default';
    this.description = `mic ${this.recorder} ${this.device}`;
  }

  protected override prepare(): Promise<void> {
    const { recorder, device } = this;
    if (!findExecutable(recorder)) {
      return Promise.reject(
        new AudioError('input_device', `the microphone would not open: ${recorder} is not installed (${INSTALL_HINTS[recorder]}); or use a WAV file as input`),
      );
    }
    let record: (options: object) => Recording;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      record = require('node-record-lpcm16').record;
    } catch (err) {
      return Promise.reject(
        new AudioError('input_device', `the microphone would not open: node-record-lpcm16 is not installed (${INSTALL_HINTS['node-record-lpcm16']})`, { cause: err }),
      );
    }
    const maxSamples = ((this.opts.maxBufferMs ?? 200) * SAMPLE_RATE) / 1000;
    const openTimeoutMs = this.opts.openTimeoutMs ?? 3000;
    this.stopping = false;
    this.frameSamples = undefined;
    this.stderr = '';
    this.fifo = new SampleFifo(2 * maxSamples);

    return new Promise((resolve, reject) => {
      let opened = false;
      const recording = record({
        sampleRate: SAMPLE_RATE,
        channels: 1,
        audioType: 'raw',
        recorder: join(__dirname, 'recorders', recorder),
        device,
        periodUs: ALSA_PERIOD_US,
        env: this.opts.env ?? process.env,
      });
      this.recording = recording;
      const current = () => this.recording === recording;
      const fail = (what: string) => {
        const stderr = this.stderr.trim();
        const reason = alsaReason(stderr) ?? what;
        const detail = `${recorder} on ALSA device "${device}" ${what}${stderr ? `:\n${stderr}` : ''}`;
        if (!opened) {
          opened = true;
          this.timers.clearTimeout(timer);
          if (current()) this.kill();
          reject(new AudioError('input_device', `the microphone (${recorder}) would not open: ${reason}`, { detail }));
        } else if (current() && !this.stopping) {
          void this.stop();
          // Nobody listening (opened ahead of a call): the next start() opens afresh.
          if (this.listenerCount('error') > 0) this.emit('error', new AudioError('input_device', `the microphone (${recorder}) stopped: ${reason}`, { detail }));
        }
      };
      const timer = this.timers.setTimeout(() => fail(`delivered no audio within ${openTimeoutMs} ms`), openTimeoutMs);

      const cp = recording.process;
      cp.on('error', (err) => fail(`could not start: ${err.message}`));
      cp.stderr?.on('data', (chunk: Buffer) => {
        if (current()) this.stderr = (this.stderr + chunk.toString()).slice(-2000);
      });
      cp.on('close', (code, signal) => fail(signal ? `was killed by ${signal}` : `exited with code ${code}`));

      let carry: Buffer | undefined;
      const stream = recording.stream();
      // node-record-lpcm16 reports a non-zero exit here as a string; 'close' above says more.
      stream.on('error', () => {});
      stream.on('data', (chunk: Buffer) => {
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
          stream.pause();
          this.resumeTimer = this.timers.setTimeout(() => stream.resume(), (keep * 500) / SAMPLE_RATE);
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
      });
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
    this.frameSamples = undefined;
    this.kill();
  }

  private kill(): void {
    this.timers.clearTimeout(this.resumeTimer);
    this.timers.clearTimeout(this.waiting?.timer);
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
}
