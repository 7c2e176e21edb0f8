/**
 * The speaker through `aplay`: the playback twin of the microphone's arecord recorder, with the
 * same 10 ms ALSA periods and 40 ms buffer (../alsa.ts). The `speaker` addon's bundled ALSA
 * output fixes a 0.5 s buffer; aplay takes ours. Being a separate program, no ALSA abort can
 * reach this process.
 *
 * Frames go to aplay's stdin as written. open() resolves when aplay reports the device set up
 * (its -v dump), and rejects when aplay exits first: the device's own answer, not a guess
 * from how long aplay has kept running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { APLAY_READY, aplayArgs } from '../alsa';
import { AudioError } from '../errors';
import { findExecutable, INSTALL_HINTS } from '../programs';
import { SAMPLE_RATE, type Frame } from '../types';
import { int16ToLE } from '../wav';
import { ChildSink } from './child-sink';

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
  /** How long aplay may take to open the device. */
  openTimeoutMs?: number;
}

export interface AplayStats {
  frames: number;
  /** Frames dropped because aplay was not taking audio as fast as it came. */
  dropped: number;
}

export class AplaySink extends ChildSink {
  readonly description: string;
  protected readonly label = 'the speaker (aplay)';
  protected readonly openTimeoutMs: number;
  readonly stats: AplayStats = { frames: 0, dropped: 0 };
  /** Frames held back while the pipe is full; the head is the one being written. */
  private queue: Buffer[] = [];
  private writing = false;

  constructor(private readonly opts: AplayOptions = {}) {
    super();
    this.description = `speaker aplay ${opts.device ?? 'default'}`;
    this.openTimeoutMs = opts.openTimeoutMs ?? 5000;
  }

  protected missing(): AudioError | undefined {
    if (findExecutable('aplay')) return undefined;
    return new AudioError('output_device', `the speaker would not open: aplay is not installed (${INSTALL_HINTS.aplay}); or use a WAV file as output`);
  }

  protected override readyIn(stderr: string): boolean {
    return APLAY_READY.test(stderr);
  }

  protected spawnChild(): ChildProcess {
    const { device = 'default', env = process.env, startDelayUs } = this.opts;
    this.queue = [];
    this.writing = false;
    return spawn('aplay', aplayArgs({ device, sampleRate: SAMPLE_RATE, channels: 1, startDelayUs }), {
      env,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
  }

  /** Writes at once when the pipe takes it; a backlog beyond a couple of frames loses its oldest. */
  write(frame: Frame): void {
    if (!this.input) return;
    this.stats.frames++;
    this.queue.push(int16ToLE(frame));
    const max = 1 + (this.opts.maxQueuedFrames ?? 2);
    while (this.queue.length > max) {
      this.queue.splice(1, 1);
      this.stats.dropped++;
    }
    this.pump();
  }

  protected override beforeEnd(stdin: Writable): void {
    for (const chunk of this.queue.slice(this.writing ? 1 : 0)) stdin.write(chunk);
    this.queue = [];
  }

  private pump(): void {
    const stdin = this.input;
    if (this.writing || !stdin) return;
    const chunk = this.queue[0];
    if (!chunk) return;
    this.writing = true;
    stdin.write(chunk, () => {
      this.writing = false;
      this.queue.shift();
      this.pump();
    });
  }
}
