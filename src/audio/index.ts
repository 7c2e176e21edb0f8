/**
 * The audio engine: sources, sinks, codecs, resampling, WAV, levels. It never touches the
 * network; src/media builds calls on top of it.
 */
import { AudioError } from './errors';
import type { AudioSink, AudioSource } from './types';
import { ToneSource, SilenceSource } from './sources/tone-source';
import { WavFileSource } from './sources/wav-source';
import { NullSink } from './sinks/null-sink';
import { WavFileSink } from './sinks/wav-sink';
import { SpeakerSink, type SpeakerOptions } from './sinks/speaker-sink';
import { AplaySink, type AplayOptions, type AplayStats } from './sinks/aplay-sink';
import { MicSource, type MicOptions, type MicStats, type Recorder } from './sources/mic-source';
import { parseDeviceSpec } from './device-spec';

export * from './types';
export * from './codecs';
export { Resampler, resample, downmix, toInt16, type Samples } from './resample';
export { decodeWav, readWavFile, readWavMono48k, encodeWav, wavHeader, int16ToLE, leToInt16, WAV_LIMITS, type WavAudio } from './wav';
export { FrameClock, type FrameClockOptions } from './clock';
export { realTimers, type Timers, type TimerHandle } from './timers';
export { AudioError, type AudioErrorCode } from './errors';
export { frameLevel, toDbfs, LevelMeter, meterBar, MIN_DBFS, type Level } from './level-meter';
export * as signals from './signals';
export { PacedSource, type PacedSourceOptions } from './sources/paced-source';
export { ToneSource, SilenceSource, WavFileSource, NullSink, WavFileSink };
export { MicSource, SpeakerSink, type MicOptions, type MicStats, type Recorder, type SpeakerOptions };
export { AplaySink, type AplayOptions, type AplayStats };
export {
  audioDeviceReport,
  probeAudioDevices,
  findExecutable,
  INSTALL_HINTS,
  type DeviceStatus,
  type DeviceProbe,
  type ProbeOptions,
  type ProbeStatus,
} from './devices';
export { BACKENDS, parseDeviceSpec, deviceSpec, type DeviceRole, type DeviceSpec } from './device-spec';
export {
  listAudioDevices,
  parseAlsaHints,
  parsePactlJson,
  parsePactlText,
  type AudioDevice,
  type DeviceList,
  type ListOptions,
} from './device-list';
export { chooseDevice, defaultDevice, type DeviceChoice } from './device-choice';

export interface SourceOptions {
  /** WAV files: start again at the end instead of emitting 'end'. */
  loop?: boolean;
  /** Microphone: the ALSA device (arecord -D / sox -t alsa), default "default". */
  device?: string;
  /** Microphone: environment for the recorder process (e.g. ALSA_CONFIG_PATH). */
  env?: NodeJS.ProcessEnv;
}

const SOURCE_SPECS = 'tone, tone:FREQ, silence, mic, mic:arecord, mic:sox, mic:[BACKEND:]NAME or a .wav path';
const SINK_SPECS = 'speaker, speaker:addon, speaker:aplay, speaker:[BACKEND:]NAME, null or a .wav path';

/**
 * Builds a source from a CLI-style spec: tone | tone:FREQ | silence | mic | mic:arecord | mic:sox
 * | mic:[BACKEND:]NAME (NAME an ALSA device, see device-spec.ts) | file.wav. Nothing is opened
 * yet (see AudioSource.open); a spec that names nothing known throws a `bad_spec` AudioError.
 */
export function createSource(spec: string, opts: SourceOptions = {}): AudioSource {
  const [kind, arg] = splitSpec(spec);
  if (kind === 'tone') {
    const freq = arg === undefined ? 440 : Number(arg);
    if (arg !== undefined && (arg.trim() === '' || !Number.isFinite(freq))) throw badSpec(`bad tone frequency in "${spec}"`);
    if (!(freq > 0 && freq < 24000)) throw badSpec(`tone frequency out of range in "${spec}" (1–23999 Hz)`);
    return new ToneSource(freq);
  }
  if (kind === 'silence' && arg === undefined) return new SilenceSource();
  const mic = parseDeviceSpec(spec);
  if (mic?.role === 'mic') return new MicSource({ recorder: mic.backend as Recorder, device: mic.device ?? opts.device, env: opts.env });
  if (isWavPath(spec)) return new WavFileSource(spec, opts.loop ?? false);
  throw badSpec(`unknown audio source "${spec}" (expected ${SOURCE_SPECS})`);
}

export interface SinkOptions {
  /** Speaker: the ALSA device, default "default". */
  device?: string;
  /** Speaker: environment for the worker or aplay process (e.g. ALSA_CONFIG_PATH). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Builds a sink from a CLI-style spec: speaker | speaker:addon | speaker:aplay |
 * speaker:[BACKEND:]NAME (NAME an ALSA device) | null | file.wav. Nothing is opened yet; a spec
 * that names nothing known throws a `bad_spec` AudioError.
 */
export function createSink(spec: string, opts: SinkOptions = {}): AudioSink {
  if (spec === 'null') return new NullSink();
  const speaker = parseDeviceSpec(spec);
  if (speaker?.role === 'speaker') {
    const o = { device: speaker.device ?? opts.device, env: opts.env };
    return speaker.backend === 'aplay' ? new AplaySink(o) : new SpeakerSink(o);
  }
  if (isWavPath(spec)) return new WavFileSink(spec);
  throw badSpec(`unknown audio sink "${spec}" (expected ${SINK_SPECS})`);
}

function badSpec(message: string): AudioError {
  return new AudioError('bad_spec', message);
}

function splitSpec(spec: string): [string, string | undefined] {
  const i = spec.indexOf(':');
  return i < 0 ? [spec, undefined] : [spec.slice(0, i), spec.slice(i + 1)];
}

function isWavPath(spec: string): boolean {
  return /\.wav$/i.test(spec);
}
