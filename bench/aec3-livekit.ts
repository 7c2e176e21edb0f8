/**
 * WebRTC's AEC3 canceller, for comparison only: the audio processing module in LiveKit's FFI
 * library (`@livekit/rtc-ffi-bindings`, an optional package of bench/: its npm package carries
 * a prebuilt Node-API library, where Debian 12 has only the older WebRTC canceller). Driven
 * through the library's protobuf requests; the frame is handed over by pointer and processed
 * in place. When the package is not installed, a string says so.
 */
import type { VoiceEngine } from '../src/audio/processing/engine';
import { ENGINE_SAMPLES } from '../src/audio/processing/engine';

/* The package's own types are not needed for four requests. */
/* eslint-disable @typescript-eslint/no-explicit-any */
type Lk = any;

let loaded: Lk | string | undefined;

function binding(): Lk | string {
  if (loaded !== undefined) return loaded;
  try {
    const lk = require('@livekit/rtc-ffi-bindings');
    lk.livekitInitialize(() => undefined, false, '0.0.0');
    loaded = lk;
  } catch (err) {
    loaded = `@livekit/rtc-ffi-bindings is not installed (npm run setup:bench): ${(err as Error).message.split('\n')[0]}`;
  }
  return loaded as Lk | string;
}

function request(lk: Lk, kind: string, value: unknown): any {
  const reply = lk.FfiResponse.fromBinary(lk.livekitFfiRequest(new lk.FfiRequest({ message: { case: kind, value } }).toBinary())).message.value;
  if (reply?.error) throw new Error(`livekit ${kind}: ${reply.error}`);
  return reply;
}

export type Aec3 = Pick<VoiceEngine, 'playback' | 'capture' | 'close'>;

/** An AEC3 instance with only the echo canceller on, or why there is none. */
export function createAec3(): Aec3 | string {
  const lk = binding();
  if (typeof lk === 'string') return lk;
  const created = request(lk, 'newApm', new lk.NewApmRequest({ echoCancellerEnabled: true, gainControllerEnabled: false, highPassFilterEnabled: false, noiseSuppressionEnabled: false }));
  const apmHandle: bigint = created.apm.handle.id;
  // Two buffers the library reads and writes by address: frames are copied in and out.
  const far = new Int16Array(ENGINE_SAMPLES);
  const mic = new Int16Array(ENGINE_SAMPLES);
  const farPtr: bigint = lk.livekitRetrievePtr(new Uint8Array(far.buffer));
  const micPtr: bigint = lk.livekitRetrievePtr(new Uint8Array(mic.buffer));
  const frame = (dataPtr: bigint) => ({ apmHandle, dataPtr, size: ENGINE_SAMPLES * 2, sampleRate: 48_000, numChannels: 1 });
  let open = true;
  return {
    playback(f) {
      far.set(f);
      request(lk, 'apmProcessReverseStream', new lk.ApmProcessReverseStreamRequest(frame(farPtr)));
    },
    capture(f, delayMs) {
      request(lk, 'apmSetStreamDelay', new lk.ApmSetStreamDelayRequest({ apmHandle, delayMs: Math.round(delayMs) }));
      mic.set(f);
      request(lk, 'apmProcessStream', new lk.ApmProcessStreamRequest(frame(micPtr)));
      f.set(mic);
      return null;
    },
    close() {
      if (!open) return;
      open = false;
      new lk.FfiHandle(apmHandle).dispose();
    },
  };
}
