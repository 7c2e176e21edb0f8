/** Reads a live call into the plain values the screens and the JSON events show. */
import type { ActiveCall, PathInfo } from '../phone';

export interface CallView {
  peer: string;
  codec: string;
  frameMs: number;
  startedAt: number;
}

/** What the call screen shows, sampled from the live call on every tick. */
export interface LiveView {
  now: number;
  inputDb: number;
  outputDb: number;
  rttMs: number | null;
  jitterMs: number;
  lossPct: number;
  bufferMs: number;
  sent: number;
  received: number;
  /** The network path in words (direct host, direct reflexive, relayed). */
  path: string;
}

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
    path: describePath(call.path),
  };
}

/** A path in words: "direct (reflexive) to 203.0.113.5:40000". */
export function describePath(p: PathInfo | null): string {
  if (!p) return 'no path (checking again)';
  const how = p.kind === 'relay' ? 'relayed' : p.kind === 'host' ? 'direct (host)' : 'direct (reflexive)';
  return `${how} to ${p.remote.ip}:${p.remote.port}`;
}

/** A path as the JSON events carry it. */
export function pathFields(p: PathInfo | null): Record<string, unknown> | null {
  if (!p) return null;
  return { kind: p.kind, local: p.local, remote: p.remote, nominated: p.nominated, why: p.why };
}
