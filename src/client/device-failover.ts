/**
 * A device that fails mid-call does not end the call: the speaker or microphone is wrapped so
 * that its 'error' moves playback or capture to the system's default device and, if that will
 * not open either, to silence. The wrapper itself never emits 'error'; it emits 'device' with
 * what changed, for the call screen and the JSON events. A PulseAudio device chosen by name is
 * also watched: when it goes away the server moves the stream itself, and that is said too.
 */
import { EventEmitter } from 'node:events';
import { createSink, createSource, defaultDevice, NullSink, SilenceSource, type DeviceChoice } from '../audio';
import { watchPulseDevice, type PulseWatch } from '../audio/pulse-watch';
import type { AudioSink, AudioSource, Frame } from '../audio/types';

export interface DeviceChange {
  side: 'input' | 'output';
  /** The device given up. */
  from: string;
  /** The device in use now. */
  to: string;
  /** What happened to the one given up. */
  reason: string;
  /** Nothing is played or captured any more: no device would open. */
  silent: boolean;
}

interface Stage<T> {
  label: string;
  make: () => T;
}

interface Ops<T> {
  open(device: T): Promise<void>;
  close(device: T): Promise<void>;
}

/** The device in use and those to fall back to, in order; the last (null or silence) never fails. */
class DeviceChain<T extends EventEmitter> extends EventEmitter<{ device: [DeviceChange] }> {
  current: T;
  label: string;
  /** Set while the next device opens: nothing goes to the dead one meanwhile. */
  switching: Promise<void> | undefined;
  private readonly rest: Stage<T>[];
  private closed = false;
  private watch: PulseWatch | undefined;

  constructor(
    private readonly side: DeviceChange['side'],
    stages: Stage<T>[],
    private readonly ops: Ops<T>,
  ) {
    super();
    const [first, ...rest] = stages;
    this.current = first.make();
    this.label = first.label;
    this.rest = rest;
    this.current.on('error', this.onError);
  }

  /** Reports PulseAudio moving the stream when the chosen device `name` goes away. */
  watchPulse(kind: 'sink' | 'source', name: string, env: NodeJS.ProcessEnv): void {
    const primary = this.current;
    this.watch = watchPulseDevice(kind, name, env, ({ movedTo }) => {
      // Already failed over (the backend saw the loss as an error): that has been said.
      if (this.closed || this.current !== primary || this.switching) return;
      const to = movedTo ? `PulseAudio's default ${kind} "${movedTo}"` : `PulseAudio's default ${kind}`;
      this.change(to, `${kind} "${name}" went away; PulseAudio moved the stream`, false);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watch?.stop();
    await this.switching;
    this.current.off('error', this.onError);
    await this.ops.close(this.current);
  }

  private readonly onError = (err: Error): void => {
    if (this.closed || this.switching) return;
    this.switching = this.next(err.message).finally(() => (this.switching = undefined));
  };

  private async next(reason: string): Promise<void> {
    const dead = this.current;
    dead.off('error', this.onError);
    this.watch?.stop();
    void this.ops.close(dead).catch(() => undefined);
    let why = reason;
    for (let stage = this.rest.shift(); stage; stage = this.rest.shift()) {
      const candidate = stage.make();
      try {
        await this.ops.open(candidate);
      } catch (err) {
        why += `; ${stage.label} would not open either (${(err as Error).message})`;
        continue;
      }
      if (this.closed) return void (await this.ops.close(candidate));
      this.current = candidate;
      candidate.on('error', this.onError);
      return this.change(stage.label, why, this.rest.length === 0);
    }
  }

  private change(to: string, reason: string, silent: boolean): void {
    const from = this.label;
    this.label = to;
    this.emit('device', { side: this.side, from, to, reason, silent });
  }
}

/** What a device wrapper offers besides being a sink or source: its changes. */
export interface DeviceEvents {
  on(event: 'device', listener: (change: DeviceChange) => void): this;
  off(event: 'device', listener: (change: DeviceChange) => void): this;
}

const NO_OUTPUT = 'nothing (no output device would open)';
const NO_INPUT = 'silence (no input device would open)';

/** A speaker that moves to the default device, then to nothing, when it fails. */
export class FailoverSink extends EventEmitter implements AudioSink, DeviceEvents {
  private readonly chain: DeviceChain<AudioSink>;

  constructor(choice: DeviceChoice) {
    super();
    const fallback = defaultDevice(choice);
    this.chain = new DeviceChain<AudioSink>(
      'output',
      [
        { label: choice.label, make: () => createSink(choice.spec, { device: choice.device, env: choice.env }) },
        { label: fallback.label, make: () => createSink(fallback.spec, { env: fallback.env }) },
        { label: NO_OUTPUT, make: () => new NullSink() },
      ],
      { open: (s) => s.open(), close: (s) => s.close() },
    );
    this.chain.on('device', (change) => this.emit('device', change));
    if (choice.system === 'pulse' && choice.name) this.chain.watchPulse('sink', choice.name, choice.env);
  }

  get description(): string {
    return this.chain.label;
  }

  open(): Promise<void> {
    return this.chain.current.open();
  }

  write(frame: Frame): void {
    if (!this.chain.switching) this.chain.current.write(frame);
  }

  latencyMs(): number | undefined {
    return this.chain.current.latencyMs?.();
  }

  underruns(): number | undefined {
    return this.chain.current.underruns?.();
  }

  close(): Promise<void> {
    return this.chain.close();
  }
}

/** A microphone that moves to the default device, then to silence, when it fails. */
export class FailoverSource extends EventEmitter implements AudioSource, DeviceEvents {
  private readonly chain: DeviceChain<AudioSource>;
  private started: { samples: number; onFrame: (frame: Frame) => void } | undefined;

  constructor(choice: DeviceChoice) {
    super();
    const fallback = defaultDevice(choice);
    this.chain = new DeviceChain<AudioSource>(
      'input',
      [
        { label: choice.label, make: () => createSource(choice.spec, { device: choice.device, env: choice.env }) },
        { label: fallback.label, make: () => createSource(fallback.spec, { env: fallback.env }) },
        { label: NO_INPUT, make: () => new SilenceSource() },
      ],
      // A replacement picks up where the dead one was: started if it had been.
      { open: (s) => (this.started ? s.start(this.started.samples, this.started.onFrame) : s.open()), close: (s) => s.stop() },
    );
    this.chain.on('device', (change) => this.emit('device', change));
    if (choice.system === 'pulse' && choice.name) this.chain.watchPulse('source', choice.name, choice.env);
  }

  get description(): string {
    return this.chain.label;
  }

  open(): Promise<void> {
    return this.chain.current.open();
  }

  latencyMs(): number | undefined {
    return this.chain.current.latencyMs?.();
  }

  start(samples: number, onFrame: (frame: Frame) => void): Promise<void> {
    this.started = { samples, onFrame };
    return this.chain.current.start(samples, onFrame);
  }

  stop(): Promise<void> {
    return this.chain.close();
  }
}
