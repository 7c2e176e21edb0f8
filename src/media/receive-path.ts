import type { AudioDecoder, Frame } from '../audio/types';
import { decodeRtp } from '../protocol/rtp';
import { SrtpOpener, type DirectionKey } from './crypto/srtp-gcm';
import { JitterBuffer, type JitterBufferOptions } from './jitter-buffer';
import { Playout } from './playout';
import { RtpReceiver } from './rtp-receiver';

export interface ReceivePathOptions {
  key: DirectionKey;
  decoder: AudioDecoder;
  payloadType: number;
  red: { payloadType: number } | false;
  /** The agreed comfort-noise payload type, if any. */
  cn?: { payloadType: number } | false;
  clockRate: number;
  frameMs: number;
  jitter?: Partial<JitterBufferOptions>;
  /** Brings the playout clock's next tick sooner (Playout's retime); a shared clock ignores it. */
  retime?: (ms: number) => void;
}

/** One stream's reception figures, as CallStats counts them. */
export interface ReceiveStats {
  received: number;
  lost: number;
  /** lost / expected (from the sequence numbers), in percent. */
  lossPercent: number;
  late: number;
  duplicate: number;
  malformed: number;
  rejected: number;
  bytesReceived: number;
  framesPlayed: number;
  recovered: number;
  concealedMs: number;
  /** Audio added by time-stretching while the buffer grew. */
  insertedMs: number;
  /** Audio taken out by time-compression while the buffer shrank (and frames skipped after a stall). */
  removedMs: number;
  jitterMs: number;
  bufferDelayMs: number;
  targetDelayMs: number;
  decryptFailed: number;
  replayed: number;
  /** Comfort-noise packets received (RFC 3389). */
  cnPacketsReceived: number;
  /** Comfort noise played in the sender's silences, ms. */
  comfortNoiseMs: number;
}

/**
 * The receive half of one stream, for a call (MediaSession) and for each member of a room:
 * SRTP opener → RTP receiver (bare or RED) → jitter buffer → decoder (+PLC) → playout. A packet
 * is opened before anything reads it, so a forged or replayed one goes no further than the
 * counters. The decoder stays its owner's to close.
 */
export class ReceivePath {
  private readonly opener: SrtpOpener;
  private readonly buffer: JitterBuffer<Buffer>;
  private readonly receiver: RtpReceiver;
  private readonly playout: Playout<Buffer>;

  constructor(opts: ReceivePathOptions) {
    const timestampStep = (opts.clockRate * opts.frameMs) / 1000;
    this.opener = new SrtpOpener(opts.key);
    this.buffer = new JitterBuffer<Buffer>({ frameMs: opts.frameMs, ...opts.jitter });
    this.receiver = new RtpReceiver(
      { payloadType: opts.payloadType, red: opts.red, cn: opts.cn, timestampStep, clockRate: opts.clockRate, fits: (p) => opts.decoder.fits(p) },
      this.buffer,
    );
    this.playout = new Playout(this.buffer, opts.decoder, opts.frameMs, opts.retime ?? (() => undefined));
  }

  /** Takes one sealed RTP packet; false when it did not authenticate, was a replay or was unreadable. */
  accept(buf: Buffer, nowMs: number): boolean {
    const opened = this.opener.open(buf);
    if (!opened.ok) return false;
    const packet = decodeRtp(opened.packet);
    if (!packet) {
      this.receiver.malformed++;
      return false;
    }
    this.receiver.receive(packet, buf.length, nowMs);
    return true;
  }

  /** Whether a stream is playing (its first frame came, and it has not paused since). */
  get playing(): boolean {
    return this.buffer.playing;
  }

  /** Whether the stream plays the sender's speech now (not comfort noise, not nothing). */
  get speaking(): boolean {
    return this.buffer.playing && !this.buffer.inComfort;
  }

  initialDelayMs(): number {
    return this.buffer.initialDelayMs();
  }

  /** This tick's frame: silence before the stream starts and after it pauses, concealment for a loss. */
  tick(nowMs: number): Frame {
    return this.playout.tick(nowMs);
  }

  stats(): ReceiveStats {
    const rec = this.receiver.reception;
    const jb = this.buffer.stats();
    const po = this.playout.stats();
    return {
      received: rec.packetsReceived,
      lost: rec.lost,
      lossPercent: rec.expected ? (100 * rec.lost) / rec.expected : 0,
      late: jb.late,
      duplicate: rec.duplicates + jb.duplicate,
      malformed: this.receiver.malformed,
      rejected: this.receiver.rejected + po.misshapen,
      bytesReceived: this.receiver.bytesReceived,
      framesPlayed: po.framesPlayed,
      recovered: jb.recovered,
      concealedMs: po.concealedMs,
      insertedMs: po.insertedMs,
      removedMs: po.removedMs,
      jitterMs: rec.jitterMs,
      bufferDelayMs: po.delayMs,
      targetDelayMs: jb.targetDelayMs,
      decryptFailed: this.opener.decryptFailed,
      replayed: this.opener.replayed,
      cnPacketsReceived: this.receiver.cnPacketsReceived,
      comfortNoiseMs: po.comfortNoiseMs,
    };
  }
}
