/**
 * The speaker through `aplay`: the playback twin of the microphone's arecord recorder, with the
 * same 10 ms ALSA periods and 40 ms buffer. The `speaker` addon's bundled ALSA output fixes a
 * 0.5 s buffer; aplay takes ours. Being a separate program, no ALSA abort can reach this process.
 *
 * Frames go to aplay's stdin as written. aplay opens the device before it reads any input, so
 * a device that will not open makes it exit within milliseconds: open() waits a short grace
 * period for that before resolving.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { SAMPLE_RATE, type AudioSink, type Frame } from '../types';
import { findExecutable, INSTALL_HINTS } from '../devices';
import { int16ToLE } from '../wav';
import arecordCommand from '../sources/recorders/arecord';
import { endChild, openSettler } from './child-output';

export interface AplayOptions {
  /** ALSA device name; "default" unless given. */
  device?: string;
  /** Environment of the aplay process (e.g. ALSA_CONFIG_PATH). */
  env?: NodeJS.ProcessEnv;
  /**
   * Audio ALSA must hold before playback starts. aplay's default waits for the whole 40 ms
   * buffer, and the level it starts at is the delay kept: under bench/device-latency that
   * played 22–24 ms behind, one period mostly 9–13 ms.
   */
  startDelayUs?: number;
  /** Frames allowed to wait for the pipe to aplay before the oldest is dropped. */
  maxQueuedFrames?: number;
  /** How long aplay must keep running before open() trusts the device. */
  openGraceMs?: number;
}

export interface AplayStats {
  frames: number;
  /** Frames dropped because aplay was not taking audio as fast as it came. */
  dropped: number;
}

/** ALSA period asked of aplay, as the arecord recorder asks for capture. */
const PERIOD_US = 10000;

export class AplaySink extends EventEmitter implements AudioSink {
  readonly description: string;
  readonly stats: AplayStats = { frames: 0, dropped: 0 };
  private child: ChildProcess | undefined;
  private stderr = '';
  private closing = false;
  /** Frames held back while the pipe is full; the head is the one being written. */
  private queue: Buffer[] = [];
  private writing = false;

  constructor(private readonly opts: AplayOptions = {}) {
    super();
    this.description = `speaker aplay ${opts.device ?? 'default'}`;
  }

  open(): Promise<void> {
    if (!findExecutable('aplay')) {
      return Promise.reject(new Error(`speaker: aplay is not installed (${INSTALL_HINTS.aplay}), or use a WAV file as output`));
    }
    const { device = 'default', env = process.env, startDelayUs = PERIOD_US, openGraceMs = 100 } = this.opts;
    // aplay and arecord are one program with one set of options: the recorder's serve here.
    const { args } = arecordCommand({ sampleRate: SAMPLE_RATE, channels: 1, device, periodUs: PERIOD_US, env });
    this.closing = false;
    this.stderr = '';
    this.queue = [];
    this.writing = false;
    const child = spawn('aplay', [`--start-delay=${startDelayUs}`, ...args], { env, stdio: ['pipe', 'ignore', 'pipe'] });
    this.child = child;
    child.stdin?.on('error', () => {}); // a dead aplay is reported by 'exit'
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-2000);
    });

    return new Promise((resolve, reject) => {
      const opening = openSettler(resolve, reject, () => this.kill());
      opening.after(openGraceMs, () => undefined);
      child.on('error', (err) => opening.settle(new Error(`speaker: could not start aplay: ${err.message}`)));
      child.on('exit', (code, signal) => {
        const why = this.describeExit(code, signal);
        if (this.child === child) this.child = undefined;
        if (!opening.settled) opening.settle(new Error(`speaker: aplay could not open device "${device}" (${why})`));
        else if (!this.closing) this.emit('error', new Error(`speaker: aplay stopped playing to device "${device}" (${why})`));
      });
    });
  }

  /** Writes at once when the pipe takes it; a backlog beyond a couple of frames loses its oldest. */
  write(frame: Frame): void {
    if (!this.child?.stdin || this.child.stdin.destroyed) return;
    this.stats.frames++;
    this.queue.push(int16ToLE(frame));
    const max = 1 + (this.opts.maxQueuedFrames ?? 2);
    while (this.queue.length > max) {
      this.queue.splice(1, 1);
      this.stats.dropped++;
    }
    this.pump();
  }

  /** Lets aplay play what it holds and exit; kills it if it hangs. */
  close(): Promise<void> {
    const child = this.child;
    this.closing = true;
    if (!child) return Promise.resolve();
    return endChild(child, () => {
      for (const chunk of this.queue.slice(this.writing ? 1 : 0)) child.stdin?.write(chunk);
      this.queue = [];
    });
  }

  private pump(): void {
    const stdin = this.child?.stdin;
    if (this.writing || !stdin || stdin.destroyed) return;
    const chunk = this.queue[0];
    if (!chunk) return;
    this.writing = true;
    stdin.write(chunk, () => {
      this.writing = false;
      this.queue.shift();
      this.pump();
    });
  }

  private kill(): void {
    this.closing = true;
    this.child?.kill('SIGKILL');
  }

  private describeExit(code: number | null, signal: NodeJS.Signals | null): string {
    const parts = [signal ? `killed by ${signal}` : `exited with code ${code}`];
    const stderr = this.stderr.trim();
    if (stderr) parts.push(stderr.replace(/\s*\n\s*/g, '; '));
    return parts.join(': ');
  }
}
