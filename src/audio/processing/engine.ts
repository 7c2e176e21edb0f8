/**
 * What a voice-processing engine (a canceller, a denoiser, a gain control: a native library
 * behind a small binding) offers the microphone pipeline. Every engine works on 10 ms frames at
 * the pipeline's format (48 kHz, mono, 16-bit): a 20 ms frame is two calls.
 */
import { SAMPLE_RATE } from '../types';

/** 10 ms at 48 kHz: the frame every engine takes. */
export const ENGINE_SAMPLES = SAMPLE_RATE / 100;

export type EngineName = 'speexdsp' | 'webrtc-apm' | 'rnnoise';

/** The stages an engine runs; one it cannot run is refused when it is created. */
export interface EngineStages {
  /** Acoustic echo cancellation against what was played. */
  aec: boolean;
  /** Noise suppression. */
  ns: boolean;
  /** Automatic gain control towards `agcTargetDbfs`. */
  agc: boolean;
}

export interface EngineOptions extends EngineStages {
  /** The longest echo path to cancel, beyond the delay the devices report (ms). */
  tailMs?: number;
  /** Where the gain control brings speech (RMS dBFS of speech). */
  agcTargetDbfs?: number;
}

export interface VoiceEngine {
  readonly name: EngineName;
  /**
   * What was handed to the speaker device: one ENGINE_SAMPLES frame, in playing order, at the
   * moment it is handed over. The engine keeps what it needs as its echo reference.
   */
  playback(frame: Int16Array): void;
  /**
   * One ENGINE_SAMPLES microphone frame, processed in place. `delayMs` is the echo path's delay
   * as the devices report it (playback buffer + capture buffer): the engine aligns its reference
   * with it, and cancels whatever is left within its tail. Returns the engine's voice-activity
   * verdict for this frame, or null when it has none.
   */
  capture(frame: Int16Array, delayMs: number): boolean | null;
  /** Forgets the echo path (after a device change); the settings stay. */
  reset(): void;
  /** Frees the native state; idempotent. Later calls throw. */
  close(): void;
}
