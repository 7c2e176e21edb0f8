/**
 * A private PulseAudio daemon for tests (bench/device/pulse.ts), with sinks and sources added
 * by name, and what a sink plays read back from its monitor with parec.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { INSTALL, missingPieces, PulseDaemon } from '../../bench/device/pulse';

export { PulseDaemon };

/** Why the PulseAudio tests cannot run here, or undefined when they can. */
export function pulseMissing(): string | undefined {
  const missing = missingPieces();
  return missing.length ? `skipped: ${missing.join(', ')} missing (${INSTALL})` : undefined;
}

/** `describe`, or `describe.skip` with the reason said once, when PulseAudio is not installed. */
export function describePulse(name: string, body: () => void): void {
  const why = pulseMissing();
  if (why) {
    console.warn(`${name}: ${why}`);
    describe.skip(name, body);
  } else describe(name, body);
}

/** The environment a client of the daemon needs: the server, its cookie, ALSA routed to it. */
export function clientEnv(pulse: PulseDaemon): Record<string, string> {
  const { PULSE_SERVER, PULSE_COOKIE, ALSA_CONFIG_PATH } = pulse.env;
  return { PULSE_SERVER: PULSE_SERVER!, PULSE_COOKIE: PULSE_COOKIE!, ALSA_CONFIG_PATH: ALSA_CONFIG_PATH! };
}

/** Loads a module and returns its index (for unload-module); throws when pactl refuses. */
export function loadModule(pulse: PulseDaemon, ...args: string[]): string {
  const r = pulse.pactl('load-module', ...args);
  if (!r.ok) throw new Error(`pactl load-module ${args.join(' ')} failed: ${r.err}`);
  return r.out.trim();
}

/** A null sink named `name`: plays in real time to nowhere, heard on `name.monitor`. */
export function nullSink(pulse: PulseDaemon, name: string, description = name): string {
  return loadModule(pulse, 'module-null-sink', `sink_name=${name}`, `sink_properties=device.description=${description}`, 'rate=48000', 'channels=1');
}

/** A source named `name` that captures a steady sine of `frequency` Hz. */
export function sineSource(pulse: PulseDaemon, name: string, frequency: number): string {
  return loadModule(pulse, 'module-sine-source', `source_name=${name}`, 'rate=48000', `frequency=${frequency}`);
}

/** The listing tests' devices: sinks "desk" and "headset" (the default), a 440 Hz source "sine" (the default). */
export function deskHeadsetSine(pulse: PulseDaemon): void {
  nullSink(pulse, 'desk', 'Desk');
  nullSink(pulse, 'headset', 'Headset');
  sineSource(pulse, 'sine', 440);
  pulse.pactl('set-default-sink', 'headset');
  pulse.pactl('set-default-source', 'sine');
}

/** How many playback streams the sink `name` carries now. */
export function streamsOn(pulse: PulseDaemon, name: string): number {
  const index = pulse
    .pactl('list', 'short', 'sinks')
    .out.split('\n')
    .map((l) => l.split('\t'))
    .find((f) => f[1] === name)?.[0];
  return pulse
    .pactl('list', 'short', 'sink-inputs')
    .out.split('\n')
    .filter((l) => index !== undefined && l.split('\t')[1] === index).length;
}

/** What a PulseAudio source captures, from when it was started: 48 kHz mono. */
export class Capture {
  private readonly child: ChildProcess;
  private chunks: Buffer[] = [];
  private bytes = 0;

  constructor(pulse: PulseDaemon, source: string) {
    this.child = spawn('parec', ['-d', source, '--format=s16le', '--rate=48000', '--channels=1', '--raw', '--latency-msec=20'], {
      env: pulse.env,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    this.child.stdout!.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.bytes += c.length;
    });
  }

  /** Everything captured so far. */
  samples(): Int16Array {
    const all = Buffer.concat(this.chunks);
    this.chunks = [all];
    return new Int16Array(all.buffer.slice(all.byteOffset, all.byteOffset + (all.length & ~1)));
  }

  /** The newest `n` samples (fewer if not yet captured). */
  last(n: number): Int16Array {
    const s = this.samples();
    return s.subarray(Math.max(0, s.length - n));
  }

  get length(): number {
    return this.bytes >> 1;
  }

  stop(): void {
    this.child.kill();
  }
}
