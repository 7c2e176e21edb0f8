/**
 * The speaker through PulseAudio (or PipeWire's pulse server) directly: libpulse's simple API
 * on a thread of the binding's own (native/pulse.c), so a write never blocks and the addon's
 * ALSA-over-PulseAudio stall (docs/architecture.md, "Audio") cannot happen.
 *
 * Frames are written once per period by a timer that may run late, so some audio must still be
 * queued when each comes: that margin starts at `marginMs` and adapts to how late writes come
 * on this machine (native/pulse.c, check_level): running dry raises it (and playback restarts
 * with it queued), calm spells lower it, a standing delay above it is cut within a second.
 * The server never holds more than `tlengthMs`; after an underrun the binding cannot see, it
 * starts again by itself once `prebufMs` is queued.
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
  /** Audio kept queued when a frame is written, at first; and the bounds it adapts within. */
  marginMs?: number;
  marginFloorMs?: number;
  marginCeilingMs?: number;
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
    const { prebufMs = 10, tlengthMs = 40, minreqMs = 10, marginMs = 20, marginFloorMs = 8, marginCeilingMs = 60, maxQueueMs = 100, env, device } = this.opts;
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
        marginMs,
        marginFloorMs,
        marginCeilingMs,
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

  /** Since open: audio dropped (ms), stalls ended, times playback ran dry; and the margin kept now (ms). */
  get stats(): { droppedMs: number; stalls: number; underruns: number; marginMs: number } {
    const { droppedBytes, ...rest } = this.stream?.counters() ?? { droppedBytes: 0, stalls: 0, underruns: 0, marginMs: 0 };
    return { droppedMs: droppedBytes / BYTES_PER_MS, ...rest };
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

  /** Times playback ran dry since open; undefined while closed. */
  underruns(): number | undefined {
    return this.stream?.counters().underruns;
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

