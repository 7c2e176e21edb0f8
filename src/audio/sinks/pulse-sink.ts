/**
 * The speaker through PulseAudio (or PipeWire's pulse server) directly: libpulse's simple API
 * on a thread of the binding's own (native/pulse.c), so a write never blocks and the addon's
 * ALSA-over-PulseAudio stall (docs/architecture.md, "Audio") cannot happen.
 *
 * The stream's buffer is sized for 20 ms frames written once per period by a timer that may run
 * late: playback starts once `prebufMs` is queued, and starts again the same way after an
 * underrun, by itself; the server never holds more than `tlengthMs`; a standing delay above
 * `targetMs` (after an underrun ended by a burst) is cut within a second.
 */
import { EventEmitter } from 'node:events';
import { PulseStream, pulseTarget } from '../pulse-stream';
import { SAMPLE_RATE, type AudioSink, type Frame } from '../types';
import { int16ToLE } from '../wav';

export interface PulseSinkOptions {
  /** Sink name; PULSE_SINK (of `env`, else the process's) or the server's default unless given. */
  device?: string;
  /** PULSE_SERVER and PULSE_SINK are taken from here when given (libpulse reads the process's otherwise). */
  env?: NodeJS.ProcessEnv;
  /** Audio queued before playback starts (and restarts after an underrun). */
  prebufMs?: number;
  /** Most audio the server's buffer holds for this stream. */
  tlengthMs?: number;
  /** How much the server asks for at a time. */
  minreqMs?: number;
  /** Latency above which a standing delay is cut. */
  targetMs?: number;
  /** Audio waiting for the server beyond which the oldest is dropped. */
  maxQueueMs?: number;
}

const BYTES_PER_MS = (SAMPLE_RATE * 2) / 1000;

export class PulseSink extends EventEmitter implements AudioSink {
  readonly description: string;
  private stream: PulseStream | undefined;
  private opening: Promise<void> | undefined;

  constructor(private readonly opts: PulseSinkOptions = {}) {
    super();
    this.description = `speaker pulse ${opts.device ?? opts.env?.PULSE_SINK ?? 'default'}`;
  }

  open(): Promise<void> {
    if (this.stream) return Promise.resolve();
    if (this.opening) return this.opening;
    const { prebufMs = 30, tlengthMs = 40, minreqMs = 10, targetMs = 40, maxQueueMs = 100, env, device } = this.opts;
    const bytes = (ms: number) => Math.round(ms * BYTES_PER_MS) & ~1;
    const opening = PulseStream.open(
      {
        playback: true,
        ...pulseTarget(env, true, device),
        name: 'parley',
        rate: SAMPLE_RATE,
        channels: 1,
        tlength: bytes(tlengthMs),
        prebuf: bytes(prebufMs),
        minreq: bytes(minreqMs),
        ringBytes: bytes(maxQueueMs),
        targetMs,
      },
      'the speaker (PulseAudio)',
      'output_device',
      {
        failed: (err) => {
          if (this.stream !== stream) return;
          this.stream = undefined;
          void stream?.close(false);
          // Nobody listening (opened ahead of a call): the next open() starts afresh.
          if (this.listenerCount('error') > 0) this.emit('error', err);
        },
      },
    );
    let stream: PulseStream | undefined;
    this.opening = opening.then(
      (s) => {
        stream = s;
        if (this.opening === done) this.stream = s;
        else void s.close(false);
        this.opening = undefined;
      },
      (err: unknown) => {
        this.opening = undefined;
        throw err;
      },
    );
    const done = this.opening;
    return done;
  }

  /** Audio dropped (ms) and stalls ended since open. */
  get stats(): { droppedMs: number; stalls: number } {
    const c = this.stream?.counters;
    return { droppedMs: (c?.droppedBytes ?? 0) / BYTES_PER_MS, stalls: c?.stalls ?? 0 };
  }

  get isOpen(): boolean {
    return this.stream !== undefined;
  }

  write(frame: Frame): void {
    this.stream?.write(int16ToLE(frame));
  }

  /** Playback delay: what the server reports (its buffer and the sink's) plus what waits to be written. */
  latencyMs(): number | undefined {
    return this.stream?.latencyMs(BYTES_PER_MS);
  }

  /** Plays out what is queued, then releases the stream; idempotent. */
  async close(): Promise<void> {
    const opening = this.opening;
    this.opening = undefined;
    if (opening) await opening.catch(() => undefined);
    const stream = this.stream;
    this.stream = undefined;
    await stream?.close(true);
  }
}

