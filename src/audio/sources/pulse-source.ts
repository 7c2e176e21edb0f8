/**
 * The microphone through PulseAudio directly: libpulse's simple API read on a thread of the
 * binding's own (native/pulse.c), in one-period chunks with a fragment of the same size, so
 * audio leaves the server a period after it was captured. Pacing is CaptureSource's.
 */
import type { AudioError } from '../errors';
import { PulseStream, pulseTarget } from '../pulse-stream';
import { SAMPLE_RATE } from '../types';
import { CAPTURE_PERIOD_MS, CaptureSource, type Capture, type CaptureEvents, type CaptureOptions } from './capture-source';

export interface PulseSourceOptions extends CaptureOptions {
  /** Source name; PULSE_SOURCE (of `env`, else the process's) or the server's default unless given. */
  device?: string;
  /** PULSE_SERVER and PULSE_SOURCE are taken from here when given. */
  env?: NodeJS.ProcessEnv;
  /** Audio per read and per server fragment. */
  chunkMs?: number;
}

const BYTES_PER_MS = (SAMPLE_RATE * 2) / 1000;

export class PulseSource extends CaptureSource {
  readonly description: string;
  protected readonly label = 'the microphone (PulseAudio)';
  private stream: PulseStream | undefined;

  constructor(private readonly opts: PulseSourceOptions = {}) {
    super(opts);
    this.description = `mic pulse ${opts.device ?? opts.env?.PULSE_SOURCE ?? 'default'}`;
  }

  protected missing(): AudioError | undefined {
    return undefined;
  }

  /** Capture delay the server reports (the source's buffer and what waits in the stream). */
  override latencyMs(): number | undefined {
    return this.stream?.latencyMs(BYTES_PER_MS);
  }

  protected startCapture(on: CaptureEvents): Capture {
    const { env, device, chunkMs = CAPTURE_PERIOD_MS } = this.opts;
    const chunk = Math.round(chunkMs * BYTES_PER_MS) & ~1;
    let stopped = false;
    let stream: PulseStream | undefined;
    PulseStream.open(
      { playback: false, ...pulseTarget(env, false, device), name: 'parley', rate: SAMPLE_RATE, channels: 1, fragsize: chunk, chunkBytes: chunk },
      this.label,
      'input_device',
      { data: (bytes) => on.data(bytes), failed: (err) => on.fail(reasonOf(err), err.detail) },
    ).then(
      (s) => {
        if (stopped) return void s.close(false);
        stream = s;
        this.stream = s;
      },
      (err: AudioError) => on.fail(reasonOf(err), err.detail),
    );
    return {
      stop: () => {
        stopped = true;
        if (this.stream === stream) this.stream = undefined;
        void stream?.close(false);
      },
    };
  }
}

/** The reason alone: CaptureSource puts the label and what happened in front of it. */
function reasonOf(err: AudioError): string {
  return err.message.replace(/^.*?(would not open|stopped): /, '');
}
