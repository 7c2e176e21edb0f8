/**
 * A call's or a room's microphone processing, from the phone's voice settings and the devices:
 * unset stages are on for a microphone (echo cancellation only when a speaker plays too), off
 * for files and tones. The engines are picked by what measured best (docs/architecture.md,
 * "Voice processing"); one that is not built here leaves its stages off, and says so.
 */
import type { AudioSink, AudioSource } from '../audio/types';
import { ENGINE_FACTORIES } from '../audio/processing/engines';
import type { EngineName, EngineStages, VoiceEngine } from '../audio/processing/engine';
import { VoiceProcessor } from '../audio/processing/voice-processor';
import { PauseGate } from '../audio/processing/pause-gate';
import { FailoverSink, FailoverSource } from './device-failover';
import type { VoiceSettings } from './phone';

/** Where gain control brings speech: RMS dBFS, a comfortable level for Opus and the far ear. */
export const AGC_TARGET_DBFS = -22;

/** Which engine runs which stages, best first; the first one built here is used. */
const PLANS: { engine: EngineName; stages: (keyof EngineStages)[] }[][] = [
  [{ engine: 'webrtc-apm', stages: ['aec', 'ns', 'agc'] }],
  [{ engine: 'speexdsp', stages: ['aec', 'ns', 'agc'] }],
];

export function voiceSettings(asked: Partial<VoiceSettings> | undefined, source: AudioSource, sink: AudioSink): VoiceSettings {
  const mic = source instanceof FailoverSource;
  const speaker = sink instanceof FailoverSink;
  return {
    aec: asked?.aec ?? (mic && speaker),
    ns: asked?.ns ?? mic,
    agc: asked?.agc ?? mic,
    dtx: asked?.dtx ?? mic,
  };
}

export interface OpenedVoice {
  /** null when no processing stage is on (or none could run). */
  processor: VoiceProcessor | null;
  /** The stages that run, and on which engine. */
  running: Partial<Record<keyof EngineStages, EngineName>>;
  /** Stages asked for that could not run here, with why (e.g. the binding was not built). */
  missing: string[];
}

/** The devices' reported delays, where a backend reports them. */
export interface DelayReports {
  source: Pick<AudioSource, 'latencyMs'>;
  sink: Pick<AudioSink, 'latencyMs'>;
}

/** Opens the engines for the stages switched on; never throws: what cannot run is said in `missing`. */
export async function openVoice(settings: VoiceSettings, devices: DelayReports): Promise<OpenedVoice> {
  const wanted = (['aec', 'ns', 'agc'] as const).filter((s) => settings[s]);
  if (wanted.length === 0) return { processor: null, running: {}, missing: [] };
  const reasons: string[] = [];
  for (const plan of PLANS) {
    const engines: VoiceEngine[] = [];
    const running: OpenedVoice['running'] = {};
    let ok = true;
    for (const step of plan) {
      const stages = step.stages.filter((s) => settings[s]);
      if (stages.length === 0) continue;
      const factory = ENGINE_FACTORIES[step.engine];
      const made = factory
        ? await factory({ aec: stages.includes('aec'), ns: stages.includes('ns'), agc: stages.includes('agc'), agcTargetDbfs: AGC_TARGET_DBFS }).catch(
            (err: Error) => ({ unavailable: err.message }),
          )
        : { unavailable: 'not part of this build' };
      if ('unavailable' in made) {
        reasons.push(`${step.engine}: ${made.unavailable}`);
        ok = false;
        break;
      }
      engines.push(made);
      for (const s of stages) running[s] = step.engine;
    }
    if (!ok) {
      engines.forEach((e) => e.close());
      continue;
    }
    const processor = new VoiceProcessor({
      engines,
      deviceDelayMs: () => (devices.sink.latencyMs?.() ?? 0) + (devices.source.latencyMs?.() ?? 0),
      ...(running.ns && { pauseGate: new PauseGate() }),
    });
    return { processor, running, missing: [] };
  }
  return { processor: null, running: {}, missing: wanted.map((s) => `${s} (${reasons.join('; ')})`) };
}
