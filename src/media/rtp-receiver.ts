import type { JitterBuffer } from './jitter-buffer';
import type { RtpPacket } from '../protocol/rtp';
import { decodeRed } from '../protocol/red';
import { ReceptionStats } from './reception';
import { decodeComfortNoise } from '../protocol/comfort-noise';

export interface RtpReceiverOptions {
  payloadType: number;
  red: { payloadType: number } | false;
  /** The agreed comfort-noise payload type; without it a CN packet is malformed like any unknown type. */
  cn?: { payloadType: number } | false;
  timestampStep: number;
  clockRate: number;
  /** Whether a payload is exactly one frame of the agreed codec and duration. */
  fits: (payload: Buffer) => boolean;
}

/**
 * Unpacks the peer's RTP packets (bare or RED) into the jitter buffer, keyed by frame index:
 * the RTP timestamp, unwrapped from 32 bits, over the timestamp units of one frame. A block
 * that is not one agreed frame (a 64 KB L16 payload, 120 ms of Opus where 20 were agreed)
 * never enters the buffer: it is counted and its frame is concealed like a lost one.
 */
export class RtpReceiver {
  readonly reception: ReceptionStats;
  private tsOrigin: number | null = null;
  bytesReceived = 0;
  /** Packets of the peer's SSRC this receiver could not use (unknown payload type, bad RED). */
  malformed = 0;
  /** Frames (primary or redundant) dropped for not being one agreed frame. */
  rejected = 0;
  /** Comfort-noise packets taken (RFC 3389): each starts or updates comfort noise. */
  cnPacketsReceived = 0;

  constructor(
    private readonly opts: RtpReceiverOptions,
    private readonly buffer: JitterBuffer<Buffer>,
  ) {
    this.reception = new ReceptionStats(opts.clockRate);
  }

  receive(packet: RtpPacket, size: number, arrivalMs: number): void {
    const { red, payloadType, cn } = this.opts;
    if (cn && packet.payloadType === cn.payloadType) return this.comfortNoise(packet, size, arrivalMs);
    let blocks: { timestampOffset: number; data: Buffer; payloadType: number }[] | null;
    if (red && packet.payloadType === red.payloadType) blocks = decodeRed(packet.payload);
    else if (packet.payloadType === payloadType) blocks = [{ payloadType, timestampOffset: 0, data: packet.payload }];
    else blocks = null;
    if (!blocks) {
      this.malformed++;
      return;
    }
    this.bytesReceived += size;
    if (!this.reception.record(packet.sequence, packet.timestamp, arrivalMs)) return;
    const index = this.frameIndex(packet.timestamp);
    for (const b of blocks) {
      if (b.payloadType !== payloadType) continue;
      if (!this.opts.fits(b.data)) {
        this.rejected++;
        continue;
      }
      const source = b.timestampOffset === 0 ? 'primary' : 'redundant';
      this.buffer.push(index - Math.round(b.timestampOffset / this.opts.timestampStep), b.data, source, arrivalMs);
    }
  }

  /** A CN packet: the frames from its timestamp on are silence to fill with comfort noise, not losses. */
  private comfortNoise(packet: RtpPacket, size: number, arrivalMs: number): void {
    const noise = decodeComfortNoise(packet.payload);
    if (!noise) {
      this.malformed++;
      return;
    }
    this.bytesReceived += size;
    if (!this.reception.record(packet.sequence, packet.timestamp, arrivalMs)) return;
    this.cnPacketsReceived++;
    this.buffer.comfort(this.frameIndex(packet.timestamp), noise, arrivalMs);
  }

  /** Frames since the first packet's timestamp; reordering across a 32-bit wrap stays signed. */
  private frameIndex(timestamp: number): number {
    if (this.tsOrigin === null) this.tsOrigin = timestamp;
    const units = (timestamp - this.tsOrigin) | 0;
    return Math.round(units / this.opts.timestampStep);
  }
}
