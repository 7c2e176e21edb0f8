/**
 * The PulseAudio binding (native/pulse.c, built by binding.gyp at install), loaded once. Its
 * absence is not an error until a pulse backend is asked to open: the build is skipped where
 * libpulse-dev is missing.
 */
import { nativeAddon } from './native-addon';
import { AudioError, type AudioErrorCode } from './errors';

export interface PulseStreamOptions {
  playback: boolean;
  /** Server address (as PULSE_SERVER); libpulse's default unless given. */
  server?: string;
  /** Sink or source name (as PULSE_SINK / PULSE_SOURCE); the server's default unless given. */
  device?: string;
  name?: string;
  rate: number;
  channels: number;
  /** pa_buffer_attr, in bytes; absent = the server's choice. */
  tlength?: number;
  prebuf?: number;
  minreq?: number;
  fragsize?: number;
  /** Playback: the most that may wait for the server before the oldest is dropped. */
  ringBytes?: number;
  /** Capture: the bytes each read hands on. */
  chunkBytes?: number;
  /**
   * Playback: the audio (ms) kept queued when a write comes, to cover writes that come late; it
   * adapts between the floor and the ceiling (native/pulse.c, check_level). Absent = no control.
   */
  marginMs?: number;
  marginFloorMs?: number;
  marginCeilingMs?: number;
}

export type PulseEvent = 'open' | 'data' | 'error' | 'closed';
declare const handleBrand: unique symbol;
export type PulseHandle = { readonly [handleBrand]: true };

export interface PulseBinding {
  open(opts: PulseStreamOptions, onEvent: (type: PulseEvent, arg?: Buffer | string) => void): PulseHandle;
  /** Queues audio; returns the bytes dropped so far. */
  write(handle: PulseHandle, bytes: Buffer): number;
  latency(handle: PulseHandle): { deviceUs: number; queuedBytes: number; stalls: number; underruns: number; marginUs: number };
  close(handle: PulseHandle, drain: boolean): void;
  release(handle: PulseHandle): void;
  unref(handle: PulseHandle): void;
}

/** The binding, or an AudioError with `code` saying why there is none. */
export function pulseBinding(code: AudioErrorCode): PulseBinding | AudioError {
  const loaded = nativeAddon<PulseBinding>('parley_pulse');
  if ('binding' in loaded) return loaded.binding;
  return new AudioError(code, 'PulseAudio support was not built (apt-get install libpulse-dev, then npm rebuild parley-voice)', { detail: loaded.reason });
}
