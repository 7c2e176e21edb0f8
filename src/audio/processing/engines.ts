/**
 * The voice engines this build knows, by name. A factory answers with an engine, or with why
 * it cannot make one here (a package missing, a stage it does not do).
 */
import type { EngineName, EngineOptions, VoiceEngine } from './engine';
import { createApmEngine } from './apm-engine';
import { createRnnoiseEngine } from './rnnoise-engine';
import { createSpeexEngine } from './speex-engine';

export type EngineFactory = (opts: EngineOptions) => Promise<VoiceEngine | { unavailable: string }>;

/** A synchronous factory (the native bindings') in the registry's shape: `speexdsp: fromSync(createSpeexEngine)`. */
export const fromSync =
  (create: (opts: EngineOptions) => VoiceEngine | { unavailable: string }): EngineFactory =>
  async (opts) =>
    create(opts);

export const ENGINE_FACTORIES: Record<EngineName, EngineFactory> = {
  'webrtc-apm': fromSync(createApmEngine),
  speexdsp: fromSync(createSpeexEngine),
  rnnoise: createRnnoiseEngine,
};
