/**
 * The speaker, through the `speaker` addon (ALSA) running in a child process.
 *
 * The addon calls abort() on some ALSA errors (e.g. no sound card: a failed assertion in
 * snd_pcm_hw_refine), which no try/catch can stop. In a child, an abort costs only the child,
 * and its death becomes an AudioError here. Frames go to the child over its stdin pipe.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { extname, join } from 'node:path';
import { AudioError } from '../errors';
import { INSTALL_HINTS } from '../programs';
import { SAMPLE_RATE, type Frame } from '../types';
import { int16ToLE } from '../wav';
import { ChildSink } from './child-sink';

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

export class SpeakerSink extends ChildSink {
  readonly description: string;
  protected readonly label = 'the speaker (speaker addon)';
  protected readonly openTimeoutMs: number;

  constructor(private readonly opts: SpeakerOptions = {}) {
    super();
    this.description = `speaker ${opts.device ?? 'default'}`;
    this.openTimeoutMs = opts.openTimeoutMs ?? 5000;
  }

  protected missing(): AudioError | undefined {
    try {
      require.resolve('speaker');
      return undefined;
    } catch {
      return new AudioError('output_device', `the speaker would not open: the speaker module is not installed (${INSTALL_HINTS.speaker}); or use speaker:aplay or a WAV file as output`);
    }
  }

  protected spawnChild(ready: () => void): ChildProcess {
    const { device, env = process.env, pulseLatencyMs = 60, samplesPerFrame = SAMPLE_RATE / 100, maxQueueMs = 60 } = this.opts;
    const config = { sampleRate: SAMPLE_RATE, samplesPerFrame, device, maxQueueBytes: (maxQueueMs * SAMPLE_RATE * 2) / 1000 };
    const child = fork(WORKER, [JSON.stringify(config)], {
      env: { PULSE_LATENCY_MSEC: String(pulseLatencyMs), ...env },
      execArgv: [],
      stdio: ['pipe', 'ignore', 'pipe', 'ipc'],
    });
    child.on('message', (msg: { type?: string; message?: string }) => {
      if (msg.type === 'open') ready();
      else if (msg.type === 'error' && msg.message) this.note(`${msg.message}\n`);
    });
    return child;
  }

  write(frame: Frame): void {
    this.input?.write(int16ToLE(frame));
  }
}
