/**
 * What the machine offers for real audio devices: which backends are installed, and whether
 * each one actually opens (for `parley doctor`).
 */
import { AudioError } from './errors';
import { findExecutable, INSTALL_HINTS } from './programs';
import { AplaySink } from './sinks/aplay-sink';
import { pulseBinding } from './pulse-binding';
import { PulseSink } from './sinks/pulse-sink';
import { SpeakerSink } from './sinks/speaker-sink';
import { MicSource } from './sources/mic-source';
import { PulseSource } from './sources/pulse-source';
import type { AudioSink } from './types';

export { findExecutable, INSTALL_HINTS } from './programs';

export interface DeviceStatus {
  name: 'arecord' | 'sox' | 'aplay' | 'speaker' | 'node-record-lpcm16';
  role: string;
  available: boolean;
  /** Where it was found, or what went wrong loading it. */
  detail: string;
  /** What to install when it is missing. */
  install?: string;
}

function moduleInstalled(name: 'speaker' | 'node-record-lpcm16'): string | undefined {
  try {
    // Resolved, not loaded: loading the speaker addon probes the default device and aborts
    // the process where there is no sound card.
    return require.resolve(name);
  } catch {
    return undefined;
  }
}

function moduleStatus(name: 'speaker' | 'node-record-lpcm16', role: string): DeviceStatus {
  const path = moduleInstalled(name);
  return path
    ? { name, role, available: true, detail: path }
    : { name, role, available: false, detail: `${name} is not installed`, install: INSTALL_HINTS[name] };
}

function binaryStatus(name: 'arecord' | 'sox' | 'aplay', role: string): DeviceStatus {
  const path = findExecutable(name);
  return path
    ? { name, role, available: true, detail: path }
    : { name, role, available: false, detail: `${name} is not on PATH`, install: INSTALL_HINTS[name] };
}

/** Each device backend, whether it is installed, and how to get it if not (nothing is opened). */
export function audioDeviceReport(): DeviceStatus[] {
  return [
    binaryStatus('arecord', 'microphone (mic, mic:arecord)'),
    binaryStatus('sox', 'microphone (mic:sox)'),
    moduleStatus('node-record-lpcm16', 'microphone process wrapper'),
    moduleStatus('speaker', 'speaker output (speaker, speaker:addon)'),
    binaryStatus('aplay', 'speaker output (speaker:aplay)'),
  ];
}

export type ProbeStatus = 'ok' | 'failed' | 'missing';

export interface DeviceProbe {
  backend: 'pulse' | 'arecord' | 'sox' | 'speaker' | 'aplay';
  role: 'input' | 'output';
  /** The --input/--output spec that selects this backend. */
  spec: 'mic:pulse' | 'mic:arecord' | 'mic:sox' | 'speaker:pulse' | 'speaker:addon' | 'speaker:aplay';
  status: ProbeStatus;
  /** One line: what was opened, why it failed, or what is missing. */
  message: string;
  /** The raw text behind a failure (ALSA's), for verbose output. */
  detail?: string;
  /** What to install, when missing. */
  install?: string;
}

export interface ProbeOptions {
  /** ALSA device to open, "default" unless given. */
  device?: string;
  /** Environment of the device programs (e.g. ALSA_CONFIG_PATH). */
  env?: NodeJS.ProcessEnv;
  /** How long each backend may take to open. */
  timeoutMs?: number;
}

/** Frames of silence each output plays: 50 ms, enough for the device to take and play them. */
const PROBE_FRAMES = 5;
const PROBE_FRAME_SAMPLES = 480;

/**
 * Opens each backend for real, one after another (two captures of one card may not overlap):
 * each recorder until it delivers captured audio, each speaker through a few frames of silence.
 * Each is bounded by `timeoutMs` to open (and a closing grace), so a hung device costs seconds.
 */
export async function probeAudioDevices(opts: ProbeOptions = {}): Promise<DeviceProbe[]> {
  const device = opts.device ?? 'default';
  const timeoutMs = opts.timeoutMs ?? 3000;
  const lpcm16 = moduleInstalled('node-record-lpcm16') !== undefined;
  const results: DeviceProbe[] = [];
  // PulseAudio first: plain `mic` and `speaker` are PulseAudio when it opens.
  const pulseMissing = pulseBinding('input_device') instanceof AudioError;
  const pulseServer = `PulseAudio${opts.env?.PULSE_SERVER ? ` at ${opts.env.PULSE_SERVER}` : ''}`;
  if (pulseMissing) {
    results.push({ backend: 'pulse', role: 'input', spec: 'mic:pulse', status: 'missing', message: 'PulseAudio support was not built', install: INSTALL_HINTS.pulse });
  } else {
    const mic = new PulseSource({ env: opts.env, openTimeoutMs: timeoutMs });
    results.push({ backend: 'pulse', role: 'input', spec: 'mic:pulse', ...(await outcome(mic.open(), `captured audio from ${pulseServer}`)) });
    await mic.stop();
  }
  for (const recorder of ['arecord', 'sox'] as const) {
    const base = { backend: recorder, role: 'input', spec: `mic:${recorder}` } as const;
    const missing = !findExecutable(recorder) ? recorder : !lpcm16 ? 'node-record-lpcm16' : undefined;
    if (missing) {
      results.push({ ...base, status: 'missing', message: `${missing} is not installed`, install: INSTALL_HINTS[missing] });
      continue;
    }
    const mic = new MicSource({ recorder, device, env: opts.env, openTimeoutMs: timeoutMs });
    results.push({ ...base, ...(await outcome(mic.open(), `captured audio from ALSA device "${device}"`)) });
    await mic.stop();
  }
  const outputs = [
    { backend: 'pulse', spec: 'speaker:pulse', missing: pulseMissing ? 'pulse' : undefined },
    { backend: 'speaker', spec: 'speaker:addon', missing: moduleInstalled('speaker') ? undefined : 'speaker' },
    { backend: 'aplay', spec: 'speaker:aplay', missing: findExecutable('aplay') ? undefined : 'aplay' },
  ] as const;
  for (const o of outputs) {
    const base = { backend: o.backend, role: 'output', spec: o.spec } as const;
    if (o.missing) {
      const message = o.missing === 'pulse' ? 'PulseAudio support was not built' : `${o.missing} is not installed`;
      results.push({ ...base, status: 'missing', message, install: INSTALL_HINTS[o.missing] });
      continue;
    }
    const sink: AudioSink =
      o.backend === 'pulse'
        ? new PulseSink({ env: opts.env })
        : o.backend === 'speaker'
          ? new SpeakerSink({ device: opts.device, env: opts.env, openTimeoutMs: timeoutMs })
          : new AplaySink({ device, env: opts.env, openTimeoutMs: timeoutMs });
    const played = o.backend === 'pulse' ? `played to ${pulseServer}` : `played to ALSA device "${device}"`;
    results.push({ ...base, ...(await outcome(playSilence(sink), played)) });
  }
  return results;
}

async function playSilence(sink: AudioSink): Promise<void> {
  let died: Error | undefined;
  const onError = (err: Error) => (died = err);
  sink.on('error', onError);
  try {
    await sink.open();
    for (let i = 0; i < PROBE_FRAMES; i++) sink.write(new Int16Array(PROBE_FRAME_SAMPLES));
  } finally {
    await sink.close();
    sink.off('error', onError);
  }
  if (died) throw died;
}

async function outcome(opened: Promise<void>, ok: string): Promise<Pick<DeviceProbe, 'status' | 'message' | 'detail'>> {
  try {
    await opened;
    return { status: 'ok', message: ok };
  } catch (err) {
    const e = err as Error;
    return { status: 'failed', message: e.message, ...(err instanceof AudioError && err.detail ? { detail: err.detail } : {}) };
  }
}
