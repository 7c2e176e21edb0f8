/**
 * The audio engine: sources, sinks, codecs, resampling, WAV, levels. It never touches the
 * network; src/media builds calls on top of it.
 */
import type { AudioSink, AudioSource } from './types';
import { ToneSource, SilenceSource } from './sources/tone-source';
import { WavFileSource } from './sources/wav-source';
import { NullSink } from './sinks/null-sink';
import { WavFileSink } from './sinks/wav-sink';
import { SpeakerSink, type SpeakerOptions } from './sinks/speaker-sink';
import { AplaySink, type AplayOptions, type AplayStats } from './sinks/aplay-sink';
import { MicSource, type MicOptions, type MicStats, type Recorder } from './sources/mic-source';

export * from './types';
export * from './codecs';
export { Resampler, resample, downmix, toInt16, type Samples } from './resample';
export { decodeWav, readWavMono48k, encodeWav, wavHeader, int16ToLE, leToInt16, type WavAudio } from './wav';
export { FrameClock } from './clock';
export { frameLevel, toDbfs, LevelMeter, meterBar, MIN_DBFS, type Level } from './level-meter';
export * as signals from './signals';
export { PacedSource } from './sources/paced-source';
export { ToneSource, SilenceSource, WavFileSource, NullSink, WavFileSink };
export { MicSource, SpeakerSink, type MicOptions, type MicStats, type Recorder, type SpeakerOptions };
export { AplaySink, type AplayOptions, type AplayStats };
export { audioDeviceReport, findExecutable, INSTALL_HINTS, type DeviceStatus } from './devices';

export interface SourceOptions {
  /** WAV files: start again at the end instead of emitting 'end'. */
  loop?: boolean;
  /** Microphone: the ALSA device (arecord -D / sox -t alsa), default "default". */
  device?: string;
  /** Microphone: environment for the recorder process (e.g. ALSA_CONFIG_PATH). */
  env?: NodeJS.ProcessEnv;
}

const SOURCE_SPECS = 'tone, tone:FREQ, silence, mic, mic:arecord, mic:sox or a .wav path';
const SINK_SPECS = 'speaker, speaker:addon, speaker:aplay, null or a .wav path';

/** Builds a source from a CLI-style spec: tone | tone:FREQ | silence | mic | mic:arecord | mic:sox | file.wav */
export function createSource(spec: string, opts: SourceOptions = {}): AudioSource {
  const [kind, arg] = splitSpec(spec);
  if (kind === 'tone') {
    const freq = arg === undefined ? 440 : Number(arg);
    if (!Number.isFinite(freq)) throw new Error(`bad tone frequency in "${spec}"`);
    return new ToneSource(freq);
  }
  if (kind === 'silence' && arg === undefined) return new SilenceSource();
  if (kind === 'mic' && (arg === undefined || arg === 'arecord' || arg === 'sox')) {
    return new MicSource({ recorder: arg ?? 'arecord', device: opts.device, env: opts.env });
  }
  if (isWavPath(spec)) return new WavFileSource(spec, opts.loop ?? false);
  throw new Error(`unknown audio source "${spec}" (expected ${SOURCE_SPECS})`);
}

export interface SinkOptions {
  /** Speaker: the ALSA device, default "default". */
  device?: string;
  /** Speaker: environment for the worker or aplay process (e.g. ALSA_CONFIG_PATH). */
  env?: NodeJS.ProcessEnv;
}

/** Builds a sink from a CLI-style spec: speaker | speaker:addon | speaker:aplay | null | file.wav */
export function createSink(spec: string, opts: SinkOptions = {}): AudioSink {
  if (spec === 'null') return new NullSink();
  if (spec === 'speaker' || spec === 'speaker:addon') return new SpeakerSink({ device: opts.device, env: opts.env });
  if (spec === 'speaker:aplay') return new AplaySink({ device: opts.device, env: opts.env });
  if (isWavPath(spec)) return new WavFileSink(spec);
  throw new Error(`unknown audio sink "${spec}" (expected ${SINK_SPECS})`);
}

function splitSpec(spec: string): [string, string | undefined] {
  const i = spec.indexOf(':');
  return i < 0 ? [spec, undefined] : [spec.slice(0, i), spec.slice(i + 1)];
}

function isWavPath(spec: string): boolean {
  return /\.wav$/i.test(spec);
}
