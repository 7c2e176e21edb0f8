/** Reads a live call into the plain values the screens and the JSON events show. */
import type { ActiveCall } from '../phone';
import type { CallView, LiveView } from './state';

export function callView(call: ActiveCall): CallView {
  return { peer: call.peer, codec: `${call.codec.name} [${call.codec.backend}]`, frameMs: call.frameMs, startedAt: call.startedAt };
}

export function liveView(call: ActiveCall): LiveView {
  const s = call.stats();
  const levels = call.levels();
  return {
    now: Date.now(),
    inputDb: levels.input,
    outputDb: levels.output,
    rttMs: s.rttMs,
    jitterMs: s.jitterMs,
    lossPct: s.lossPercent,
    bufferMs: s.bufferDelayMs,
    sent: s.packetsSent,
    received: s.packetsReceived,
  };
}
