/**
 * Plain `speaker` and `mic`: the first backend that opens, in order (PulseAudio, then ALSA).
 * Only a failure to open moves on; once one is open it is the device, and its 'error' events
 * are this one's. When none opens, the last one's error is thrown, with every reason in its
 * detail.
 */
import { EventEmitter } from 'node:events';
import { AudioError } from './errors';
import type { AudioSink, AudioSource, Frame } from './types';

interface Device extends EventEmitter {
  open(): Promise<void>;
  latencyMs?(): number | undefined;
  underruns?(): number | undefined;
}

async function openFirst<T extends Device>(candidates: (() => T)[], relay: EventEmitter, events: string[]): Promise<T> {
  const reasons: string[] = [];
  let last: unknown;
  for (const make of candidates) {
    const device = make();
    try {
      await device.open();
      // An 'error' nobody listens to would throw: the backends only emit one to a listener.
      for (const e of events) device.on(e, (arg: unknown) => void (e !== 'error' || relay.listenerCount(e) > 0 ? relay.emit(e, arg) : undefined));
      return device;
    } catch (err) {
      last = err;
      reasons.push(`${device.constructor.name}: ${(err as Error).message}`);
    }
  }
  if (last instanceof AudioError) throw new AudioError(last.code, last.message, { detail: [last.detail, ...reasons].filter(Boolean).join('\n'), cause: last });
  throw last;
}

export class FirstSink extends EventEmitter implements AudioSink {
  private chosen: AudioSink & Device | undefined;
  private opening: Promise<void> | undefined;

  constructor(
    readonly description: string,
    private readonly candidates: (() => AudioSink & Device)[],
  ) {
    super();
  }

  /** The backend in use once open. */
  get backend(): AudioSink | undefined {
    return this.chosen;
  }

  open(): Promise<void> {
    if (this.chosen) return this.chosen.open();
    this.opening ??= openFirst(this.candidates, this, ['error']).then(
      (sink) => {
        this.chosen = sink;
        this.opening = undefined;
      },
      (err: unknown) => {
        this.opening = undefined;
        throw err;
      },
    );
    return this.opening;
  }

  write(frame: Frame): void {
    this.chosen?.write(frame);
  }

  latencyMs(): number | undefined {
    return this.chosen?.latencyMs?.();
  }

  underruns(): number | undefined {
    return this.chosen?.underruns?.();
  }

  async close(): Promise<void> {
    await this.opening?.catch(() => undefined);
    await this.chosen?.close();
  }
}

export class FirstSource extends EventEmitter implements AudioSource {
  private chosen: AudioSource & Device | undefined;
  private opening: Promise<void> | undefined;

  constructor(
    readonly description: string,
    private readonly candidates: (() => AudioSource & Device)[],
  ) {
    super();
  }

  get backend(): AudioSource | undefined {
    return this.chosen;
  }

  open(): Promise<void> {
    if (this.chosen) return this.chosen.open();
    this.opening ??= openFirst(this.candidates, this, ['error', 'end']).then(
      (source) => {
        this.chosen = source;
        this.opening = undefined;
      },
      (err: unknown) => {
        this.opening = undefined;
        throw err;
      },
    );
    return this.opening;
  }

  async start(samples: number, onFrame: (frame: Frame) => void): Promise<void> {
    await this.open();
    await this.chosen!.start(samples, onFrame);
  }

  latencyMs(): number | undefined {
    return this.chosen?.latencyMs?.();
  }

  async stop(): Promise<void> {
    await this.opening?.catch(() => undefined);
    await this.chosen?.stop();
  }
}
