/**
 * The 'webrtc-apm' engine: WebRTC's audio processing module (libwebrtc-audio-processing, through
 * native/webrtc-apm.cc, built by binding.gyp where the library's headers are installed). Its
 * absence is not an error at import: createApmEngine says why there is none.
 *
 * The echo canceller runs WebRTC's extended filter with delay-agnostic mode: `delayMs` (the
 * devices' reported delay) is a hint, and the library's own delay estimate finds the rest of the
 * echo path's bulk delay. Voice detection is always on; the high-pass filter is on whenever a
 * stage is.
 */
import { nativeAddon } from '../native-addon';
import { ENGINE_SAMPLES, type EngineOptions, type VoiceEngine } from './engine';

declare const handleBrand: unique symbol;
export type ApmHandle = { readonly [handleBrand]: true };

export interface ApmCreateOptions {
  aec: boolean;
  ns: boolean;
  agc: boolean;
  /** GainControl's target level, dB below full scale (0–31), as the library takes it. */
  agcLevel?: number;
  /** The most gain the gain control adds (dB, 0–90). */
  agcMaxGainDb?: number;
  /** NoiseSuppression level: 0 low, 1 moderate, 2 high, 3 very high. */
  nsLevel?: number;
  /** EchoCancellation suppression level: 0 low, 1 moderate, 2 high. */
  aecLevel?: number;
  /** The echo canceller's extended filter (default on; without it the echo delay the library finds by itself is much shorter). */
  extendedFilter?: boolean;
  /** VoiceDetection likelihood: 0 very low .. 3 high (higher: more noise taken for voice). */
  vadLikelihood?: number;
}

export interface ApmBinding {
  create(opts: ApmCreateOptions): ApmHandle;
  playback(handle: ApmHandle, frame: Int16Array): void;
  capture(handle: ApmHandle, frame: Int16Array, delayMs: number): boolean;
  reset(handle: ApmHandle): void;
  close(handle: ApmHandle): void;
}

/** The binding, or why there is none. */
export function apmBinding(): ApmBinding | { unavailable: string } {
  const loaded = nativeAddon<ApmBinding>('parley_apm');
  if ('binding' in loaded) return loaded.binding;
  return {
    unavailable: `webrtc-audio-processing support was not built (apt-get install libwebrtc-audio-processing-dev, then npm rebuild parley-voice): ${loaded.reason}`,
  };
}

/** true, or why the engine cannot be created. */
export function apmAvailable(): true | string {
  const b = apmBinding();
  return 'unavailable' in b ? b.unavailable : true;
}

/** Speech RMS (dBFS) the gain control aims at unless told. */
export const APM_DEFAULT_AGC_TARGET_DBFS = -18;

/**
 * GainControl's target is a level near speech's peaks; speech's RMS settles some dB below it.
 * Measured with loud speech-like signals: RMS ≈ −(level + 8.3) dBFS.
 */
export const APM_AGC_CREST_DB = 8;

/** The library's own filter: the extended filter spans 128 ms beyond the estimated bulk delay. */
export const APM_MAX_TAIL_MS = 128;

/**
 * NoiseSuppression's level: moderate. In a fan at 5 dB SNR it lowers the floor ~14 dB and keeps
 * speech within ~2.5 dB; high lowers it ~18 dB but takes 3.6 dB of the speech. A call's pipeline
 * adds a gate in the pauses (pause-gate.ts) for the rest of the floor.
 */
export const APM_NS_LEVEL = 1;

export function agcLevelFor(targetDbfs: number): number {
  return Math.min(31, Math.max(0, Math.round(-targetDbfs - APM_AGC_CREST_DB)));
}

/**
 * An engine with the stages asked for. The binding's defaults, chosen by measurement
 * (test/audio/processing/apm-engine.test.ts): low echo suppression (the same echo return loss
 * enhancement as moderate or high on the test rooms, with less near speech lost in double talk),
 * moderate noise suppression (APM_NS_LEVEL), the digital gain
 * control with the library's 9 dB compression gain and its limiter, and very-low voice likelihood
 * (fan noise is rarely taken for voice; speech still is ~95% of the time).
 */
export function createApmEngine(opts: EngineOptions): VoiceEngine | { unavailable: string } {
  const binding = apmBinding();
  if ('unavailable' in binding) return binding;
  const target = opts.agcTargetDbfs ?? APM_DEFAULT_AGC_TARGET_DBFS;
  if (!Number.isFinite(target) || target > 0 || target < -60) throw new RangeError(`agcTargetDbfs must be within [-60, 0], not ${target}`);
  if (opts.tailMs !== undefined && (!Number.isFinite(opts.tailMs) || opts.tailMs < 0)) throw new RangeError(`tailMs must be a finite number ≥ 0, not ${opts.tailMs}`);
  if (opts.tailMs !== undefined && opts.tailMs > APM_MAX_TAIL_MS) {
    return { unavailable: `webrtc-apm cancels echo tails up to ${APM_MAX_TAIL_MS} ms beyond the estimated delay, not ${opts.tailMs} ms` };
  }
  const handle = binding.create({ aec: opts.aec, ns: opts.ns, agc: opts.agc, agcLevel: agcLevelFor(target), nsLevel: APM_NS_LEVEL });
  let closed = false;
  const check = (frame: Int16Array): void => {
    if (closed) throw new Error('webrtc-apm: the engine is closed');
    if (!(frame instanceof Int16Array) || frame.length !== ENGINE_SAMPLES) {
      throw new RangeError(`webrtc-apm: a frame is an Int16Array of ${ENGINE_SAMPLES} samples`);
    }
  };
  return {
    name: 'webrtc-apm',
    playback(frame) {
      check(frame);
      binding.playback(handle, frame);
    },
    capture(frame, delayMs) {
      check(frame);
      if (!Number.isFinite(delayMs) || delayMs < 0) throw new RangeError(`webrtc-apm: delayMs must be a finite number ≥ 0, not ${delayMs}`);
      // The library takes up to 500 ms; a longer reported delay is its estimate's to find.
      return binding.capture(handle, frame, Math.min(delayMs, 500));
    },
    reset() {
      if (closed) throw new Error('webrtc-apm: the engine is closed');
      binding.reset(handle);
    },
    close() {
      if (closed) return;
      closed = true;
      binding.close(handle);
    },
  };
}
