/** A call's media figures, for the terminal client and tests. Times in ms. */
export interface CallStats {
  packetsSent: number;
  packetsReceived: number;
  /** RFC 3550 cumulative loss: packets expected from the sequence numbers minus those received. */
  packetsLost: number;
  /** packetsLost / expected, in percent. */
  lossPercent: number;
  /** Packets whose frame had already been played or given up when they arrived. */
  packetsLate: number;
  packetsDuplicate: number;
  /** Packets of the peer's stream that could not be read (unknown payload type, broken RED). */
  packetsMalformed: number;
  bytesSent: number;
  bytesReceived: number;
  framesPlayed: number;
  /** Frames whose own packet was missing, played exactly from a redundant copy. */
  framesRecovered: number;
  /** Audio concealed (codec PLC) for frames given up: played from neither their packet nor a copy. */
  concealedMs: number;
  /** Audio added by time-stretching, a pitch period at a time, while the buffer grew (waiting for late frames). */
  insertedMs: number;
  /** Audio taken out by time-compression while the buffer shrank (and any frames skipped after a long stall). */
  removedMs: number;
  /** Frames refused for not being one agreed frame (oversize, another duration): never played. */
  framesRejected: number;
  /** RFC 3550 interarrival jitter. */
  jitterMs: number;
  /** How long after its expected arrival the next frame will play: the jitter buffer's current delay. */
  bufferDelayMs: number;
  /** The delay the buffer is steering toward. */
  targetDelayMs: number;
  rttMs: number | null;
  /** Delay the capture and playback devices report (their buffers), null where the backend cannot tell. */
  deviceInputMs: number | null;
  deviceOutputMs: number | null;
  /** Times the playback device ran dry (each a gap heard), null where the backend cannot tell. */
  deviceOutputUnderruns: number | null;
  /** Datagrams from anyone but the negotiated peer, dropped unread. */
  foreignDropped: number;
  /** Packets from the peer's address and SSRC that did not authenticate (forged, modified, wrong key): dropped. */
  decryptFailed: number;
  /** Packets refused as replays, or as older than the replay window: dropped unopened. */
  replayed: number;
  /** Frames this side did not send because they were silent (DTX). */
  framesSuppressed: number;
  /** Comfort-noise packets (RFC 3389) sent: silence described, and a muted side's keep-alives. */
  cnPacketsSent: number;
  cnPacketsReceived: number;
  /** Comfort noise played in the peer's silences, ms. */
  comfortNoiseMs: number;
}
