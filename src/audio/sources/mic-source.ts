/**
 * The microphone through ALSA: arecord or sox started through node-record-lpcm16 with recorder
 * modules of our own (small ALSA periods, see ../alsa.ts). Pacing is CaptureSource's.
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
import { SAMPLE_RATE } from '../types';
import { CaptureSource, type Capture, type CaptureEvents, type CaptureOptions } from './capture-source';

export type { MicStats } from './capture-source';

export type Recorder = 'arecord' | 'sox';

export interface MicOptions extends CaptureOptions {
  recorder?: Recorder;
  /** ALSA device name; "default" unless given. */
  device?: string;
  /** Environment of the recorder process (e.g. ALSA_CONFIG_PATH). */
  env?: NodeJS.ProcessEnv;
}

interface Recording {
  process: ChildProcess;
  stream(): Readable;
  stop(): void;
}

export class MicSource extends CaptureSource {
  readonly description: string;
  readonly recorder: Recorder;
  protected readonly label: string;
  private readonly device: string;
  private readonly opts: MicOptions;
  private recording: Recording | undefined;

  constructor(opts: MicOptions = {}) {
    super(opts);
    this.opts = opts;
    this.recorder = opts.recorder ?? 'arecord';
    this.device = opts.device ?? 'default';
    this.description = `mic ${this.recorder} ${this.device}`;
    this.label = `the microphone (${this.recorder})`;
  }

  protected missing(): AudioError | undefined {
    const { recorder } = this;
    if (!findExecutable(recorder)) {
      return new AudioError('input_device', `the microphone would not open: ${recorder} is not installed (${INSTALL_HINTS[recorder]}); or use a WAV file as input`);
    }
    try {
      require.resolve('node-record-lpcm16');
      return undefined;
    } catch (err) {
      return new AudioError('input_device', `the microphone would not open: node-record-lpcm16 is not installed (${INSTALL_HINTS['node-record-lpcm16']})`, { cause: err });
    }
  }

  protected startCapture(on: CaptureEvents): Capture {
    const { recorder, device } = this;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { record } = require('node-record-lpcm16') as { record: (options: object) => Recording };
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
    let stderr = '';
    let resumeTimer: NodeJS.Timeout | undefined;
    const fail = (what: string) => {
      const said = stderr.trim();
      on.fail(alsaReason(said) ?? what, `${recorder} on ALSA device "${device}" ${what}${said ? `:\n${said}` : ''}`);
    };
    const cp = recording.process;
    cp.on('error', (err) => fail(`could not start: ${err.message}`));
    cp.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    cp.on('close', (code, signal) => fail(signal ? `was killed by ${signal}` : `exited with code ${code}`));
    const stream = recording.stream();
    // node-record-lpcm16 reports a non-zero exit here as a string; 'close' above says more.
    stream.on('error', () => {});
    stream.on('data', on.data);
    return {
      pause: (ms) => {
        stream.pause();
        clearTimeout(resumeTimer);
        resumeTimer = setTimeout(() => stream.resume(), ms);
      },
      stop: () => {
        clearTimeout(resumeTimer);
        if (this.recording === recording) this.recording = undefined;
        // sox finishes its pending write before honouring SIGTERM: closing the pipe ends that
        // write (EPIPE) whether or not reading was paused, and SIGKILL covers a hung recorder.
        cp.stdout?.destroy();
        if (cp.exitCode === null && cp.signalCode === null) {
          recording.stop();
          const timer = setTimeout(() => cp.kill('SIGKILL'), 1000);
          timer.unref();
          cp.once('exit', () => clearTimeout(timer));
        }
      },
    };
  }
}
