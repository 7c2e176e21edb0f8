/**
 * The speaker, through the `speaker` addon (ALSA) running in a child process.
 *
 * The addon calls abort() on some ALSA errors (e.g. no sound card: a failed assertion in
 * snd_pcm_hw_refine), which no try/catch can stop. In a child, an abort costs only the child,
 * and its death becomes an 'error' event here. Frames go to the child over its stdin pipe.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { extname, join } from 'node:path';
import { SAMPLE_RATE, type AudioSink, type Frame } from '../types';
import { INSTALL_HINTS } from '../devices';
import { int16ToLE } from '../wav';
import { endChild, openSettler } from './child-output';

export interface SpeakerOptions {
  /** ALSA device name; the system default unless given. */
  device?: string;
  /** Environment of the worker process (e.g. ALSA_CONFIG_PATH). */
  env?: NodeJS.ProcessEnv;
  /** Samples the addon hands ALSA per write: one 10 ms period keeps its buffering small. */
  samplesPerFrame?: number;
  /**
   * Buffer asked of PulseAudio (or PipeWire's pulse server) when ALSA's default leads there;
   * no effect on a hardware device. Unset, the addon's fixed 500 ms ALSA buffer becomes the
   * stream's target length and the server plays 40–130 ms behind. Smaller is not safe: at 30
   * and 45 ms clicks were lost under bench/device-latency (after another client had run the
   * sink at 1 ms); 60 ms lost none. A PULSE_LATENCY_MSEC of the user's own wins.
   */
  pulseLatencyMs?: number;
  /** Audio allowed to wait in the worker before the oldest is dropped. */
  maxQueueMs?: number;
  openTimeoutMs?: number;
}

/** Runs from src/ (tests) and from dist/ alike: the worker sits beside this file. */
const WORKER = join(__dirname, `speaker-worker${extname(__filename)}`);

export class SpeakerSink extends EventEmitter implements AudioSink {
  readonly description: string;
  private child: ChildProcess | undefined;
  private stderr = '';
  private closing = false;

  constructor(private readonly opts: SpeakerOptions = {}) {
    super();
    this.description = `speaker ${opts.device ?? 'default'}`;
  }

  open(): Promise<void> {
    try {
      require.resolve('speaker');
    } catch {
      return Promise.reject(new Error(`speaker: the speaker module is not installed (${INSTALL_HINTS.speaker})`));
    }
    const { device, env = process.env, pulseLatencyMs = 60, samplesPerFrame = SAMPLE_RATE / 100, maxQueueMs = 60, openTimeoutMs = 5000 } = this.opts;
    const config = { sampleRate: SAMPLE_RATE, samplesPerFrame, device, maxQueueBytes: (maxQueueMs * SAMPLE_RATE * 2) / 1000 };
    this.closing = false;
    this.stderr = '';
    const child = fork(WORKER, [JSON.stringify(config)], {
      env: { PULSE_LATENCY_MSEC: String(pulseLatencyMs), ...env },
      execArgv: [],
      stdio: ['pipe', 'ignore', 'pipe', 'ipc'],
    });
    this.child = child;
    child.stdin?.on('error', () => {}); // a dead worker is reported by 'exit'
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-2000);
    });

    return new Promise((resolve, reject) => {
      let reported = '';
      const opening = openSettler(resolve, reject, () => this.kill());
      opening.after(openTimeoutMs, () => new Error(`speaker: the device did not open within ${openTimeoutMs} ms`));
      child.on('message', (msg: { type?: string; message?: string }) => {
        if (msg.type === 'open') opening.settle();
        else if (msg.type === 'error') reported = msg.message ?? '';
      });
      child.on('error', (err) => opening.settle(new Error(`speaker: could not start the audio worker: ${err.message}`)));
      child.on('exit', (code, signal) => {
        const why = this.describeExit(code, signal, reported);
        if (this.child === child) this.child = undefined;
        if (!opening.settled) opening.settle(new Error(`speaker: the device failed to open (${why})`));
        else if (!this.closing) this.emit('error', new Error(`speaker: the audio device stopped (${why})`));
      });
    });
  }

  write(frame: Frame): void {
    const stdin = this.child?.stdin;
    if (stdin && !stdin.destroyed) stdin.write(int16ToLE(frame));
  }

  /** Lets the worker play what it holds and exit; kills it if it hangs. */
  close(): Promise<void> {
    const child = this.child;
    this.closing = true;
    if (!child) return Promise.resolve();
    return endChild(child);
  }

  private kill(): void {
    this.closing = true;
    this.child?.kill('SIGKILL');
  }

  private describeExit(code: number | null, signal: NodeJS.Signals | null, reported: string): string {
    const parts = [signal ? `worker killed by ${signal}` : `worker exited with code ${code}`];
    if (reported) parts.push(reported);
    const stderr = this.stderr.trim();
    if (stderr) parts.push(stderr.replace(/\s*\n\s*/g, '; '));
    return parts.join(': ');
  }
}
