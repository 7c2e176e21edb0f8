/**
 * The speexdsp engine: libspeexdsp's echo canceller and preprocessor (native/speexdsp.c, built by
 * binding.gyp at install where libspeexdsp-dev is present). A missing binding is a reason to give,
 * not an error at import: calls work without processing.
 */
import { nativeAddon } from '../native-addon';
import { ENGINE_SAMPLES, type EngineOptions, type VoiceEngine } from './engine';

declare const handleBrand: unique symbol;
type SpeexHandle = { readonly [handleBrand]: true };

interface SpeexBinding {
  create(opts: EngineOptions): SpeexHandle;
  playback(handle: SpeexHandle, frame: Int16Array): void;
  capture(handle: SpeexHandle, frame: Int16Array, delayMs: number): boolean;
  reset(handle: SpeexHandle): void;
  close(handle: SpeexHandle): void;
}

function binding(): SpeexBinding | string {
  const loaded = nativeAddon<SpeexBinding>('parley_speexdsp');
  return 'binding' in loaded ? loaded.binding : loaded.reason;
}

/** True, or why speexdsp processing is unavailable. */
export function speexAvailable(): true | string {
  const b = binding();
  return typeof b === 'string' ? `speexdsp processing was not built (apt-get install libspeexdsp-dev, then npm rebuild parley-voice): ${b}` : true;
}

/** An engine, or why there is none. Bad options throw (TypeError, RangeError). */
export function createSpeexEngine(opts: EngineOptions): VoiceEngine | { unavailable: string } {
  const available = speexAvailable();
  if (available !== true) return { unavailable: available };
  const b = binding() as SpeexBinding;
  const handle = b.create({ aec: opts.aec, ns: opts.ns, agc: opts.agc, tailMs: opts.tailMs, agcTargetDbfs: opts.agcTargetDbfs });
  return {
    name: 'speexdsp',
    playback: (frame) => b.playback(handle, frame),
    capture: (frame, delayMs) => b.capture(handle, frame, delayMs),
    reset: () => b.reset(handle),
    close: () => b.close(handle),
  };
}

export { ENGINE_SAMPLES };
