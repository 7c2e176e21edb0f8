/**
 * The speexdsp engine: libspeexdsp's echo canceller and preprocessor (native/speexdsp.c, built by
 * binding.gyp at install where libspeexdsp-dev is present). A missing binding is a reason to give,
 * not an error at import: calls work without processing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
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

/** Where node-gyp puts it, seen from src/audio/processing and dist/audio/processing (two levels below the package root) or dist-bench/src/audio/processing (three). */
const ADDONS = [
  join(__dirname, '..', '..', '..', 'build', 'Release', 'parley_speexdsp.node'),
  join(__dirname, '..', '..', '..', '..', 'build', 'Release', 'parley_speexdsp.node'),
];

let loaded: { binding: SpeexBinding } | { reason: string } | undefined;

function binding(): SpeexBinding | string {
  if (!loaded) {
    const found = ADDONS.find((p) => existsSync(p));
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = found ? { binding: require(found) as SpeexBinding } : { reason: `no ${ADDONS[0]}` };
    } catch (err) {
      loaded = { reason: (err as Error).message.split('\n')[0] };
    }
  }
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
