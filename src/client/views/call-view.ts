/** Reads a live call into the plain values the screens and the JSON events show. */
import type { ActiveCall, PathInfo } from '../phone';
import type { VoiceInUse } from '../call-media';

export interface CallView {
  peer: string;
  codec: string;
  frameMs: number;
  startedAt: number;
  /** The short authentication string both sides should see. */
  sas: string;
  /** The microphone processing in words, and what could not run here. */
  processing: string;
}

/** What the call screen shows, sampled from the live call on every tick. */
export interface LiveView {
  now: number;
  inputDb: number;
  outputDb: number;
  rttMs: number | null;
  jitterMs: number;
  lossPct: number;
  /** The jitter buffer's current delay and the delay it steers toward. */
  bufferMs: number;
  targetMs: number;
  /** Audio made up for lost packets (concealment). */
  concealedMs: number;
  /** Audio added and taken out by time-stretching while the buffer's delay moved. */
  insertedMs: number;
  removedMs: number;
  /** Frames whose packet was lost, played exactly from a redundant copy. */
  recovered: number;
  /** Delay in the capture and playback devices' own buffers, where the backend reports it. */
  deviceInputMs: number | null;
  deviceOutputMs: number | null;
  /** Times the playback device ran dry (a gap heard), where the backend reports it. */
  deviceOutputUnderruns?: number | null;
  sent: number;
  received: number;
  /** Frames not sent for silence (DTX), comfort-noise packets sent and received, comfort noise played (ms). */
  framesSuppressed?: number;
  cnPacketsSent?: number;
  cnPacketsReceived?: number;
  comfortNoiseMs?: number;
  /** The network path in words (direct host, direct reflexive, relayed). */
  path: string;
  /** Voice in this side's (processed) microphone, and speech (not comfort noise) from the peer. */
  talkingLocal: boolean;
  talkingRemote: boolean;
}

export function callView(call: ActiveCall): CallView {
  const missing = call.voice.missing.length ? ` (not available here: ${call.voice.missing.join('; ')})` : '';
  return { peer: call.peer, codec: `${call.codec.name} [${call.codec.backend}]`, frameMs: call.frameMs, startedAt: call.startedAt, sas: call.sas, processing: describeVoice(call.voice) + missing };
}

export function liveView(call: ActiveCall): LiveView {
  const s = call.stats();
  const levels = call.levels();
  const activity = call.activity();
  return {
    now: Date.now(),
    inputDb: levels.input,
    outputDb: levels.output,
    rttMs: s.rttMs,
    jitterMs: s.jitterMs,
    lossPct: s.lossPercent,
    bufferMs: s.bufferDelayMs,
    targetMs: s.targetDelayMs,
    concealedMs: s.concealedMs,
    insertedMs: s.insertedMs,
    removedMs: s.removedMs,
    recovered: s.framesRecovered,
    deviceInputMs: s.deviceInputMs,
    deviceOutputMs: s.deviceOutputMs,
    deviceOutputUnderruns: s.deviceOutputUnderruns,
    sent: s.packetsSent,
    received: s.packetsReceived,
    framesSuppressed: s.framesSuppressed,
    cnPacketsSent: s.cnPacketsSent,
    cnPacketsReceived: s.cnPacketsReceived,
    comfortNoiseMs: s.comfortNoiseMs,
    path: describePath(call.path),
    talkingLocal: activity.local,
    talkingRemote: activity.remote,
  };
}

const STAGE_NAMES = { aec: 'echo cancellation', ns: 'noise suppression', agc: 'gain control' } as const;

/** The microphone processing in words: "echo cancellation, noise suppression (webrtc-apm); silence suppression". */
export function describeVoice(v: VoiceInUse): string {
  const byEngine = new Map<string, string[]>();
  for (const [stage, engine] of Object.entries(v.running)) byEngine.set(engine, [...(byEngine.get(engine) ?? []), STAGE_NAMES[stage as keyof typeof STAGE_NAMES]]);
  const parts = [...byEngine].map(([engine, stages]) => `${stages.join(', ')} (${engine})`);
  if (v.dtx) parts.push('silence suppression');
  return parts.length ? parts.join('; ') : 'none';
}

/** How the received audio fared: what was repaired, made up, or stretched. */
export function qualityLine(v: LiveView): string {
  return (
    `recovered ${v.recovered} frames, concealed ${v.concealedMs.toFixed(0)} ms, ` +
    `stretched +${v.insertedMs.toFixed(0)} / -${v.removedMs.toFixed(0)} ms`
  );
}

/** A path in words: "direct (reflexive) to 203.0.113.5:40000". */
export function describePath(p: PathInfo | null): string {
  if (!p) return 'no path (checking again)';
  if (p.kind === 'relay') {
    // Through our own relay, or straight to the peer's relayed address.
    const via = p.local.type === 'relay' ? p.local : p.remote;
    return `relayed through ${via.ip}:${via.port}${p.local.type === 'relay' ? ` to ${p.remote.ip}:${p.remote.port}` : ''}`;
  }
  const how = p.kind === 'host' ? 'direct (host)' : 'direct (reflexive)';
  return `${how} to ${p.remote.ip}:${p.remote.port}`;
}

/** A path as the JSON events carry it. */
export function pathFields(p: PathInfo | null): Record<string, unknown> | null {
  if (!p) return null;
  return { kind: p.kind, local: p.local, remote: p.remote, nominated: p.nominated, why: p.why };
}
