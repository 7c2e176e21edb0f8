import type { JitterBuffer } from '../audio/jitter-buffer';
import type { RtpPacket } from '../protocol/rtp';
import { decodeRed } from '../protocol/red';
import { ReceptionStats } from './reception';

export interface RtpReceiverOptions {
  payloadType: number;
  red: { payloadType: number } | false;
  timestampStep: number;
  clockRate: number;
}

/**
 * Unpacks the peer's RTP packets (bare or RED) into the jitter buffer, keyed by frame index:
 * the RTP timestamp, unwrapped from 32 bits, over the timestamp units of one frame.
 */
export class RtpReceiver {
  readonly reception: ReceptionStats;
  private tsOrigin: number | null = null;
  bytesReceived = 0;
  /** Packets of the peer's SSRC this receiver could not use (unknown payload type, bad RED). */
  malformed = 0;

  constructor(
    private readonly opts: RtpReceiverOptions,
    private readonly buffer: JitterBuffer<Buffer>,
  ) {
    this.reception = new ReceptionStats(opts.clockRate);
  }

  receive(packet: RtpPacket, size: number, arrivalMs: number): void {
    const { red, payloadType } = this.opts;
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
      const source = b.timestampOffset === 0 ? 'primary' : 'redundant';
      this.buffer.push(index - Math.round(b.timestampOffset / this.opts.timestampStep), b.data, source, arrivalMs);
    }
  }

  /** Frames since the first packet's timestamp; reordering across a 32-bit wrap stays signed. */
  private frameIndex(timestamp: number): number {
    if (this.tsOrigin === null) this.tsOrigin = timestamp;
    const units = (timestamp - this.tsOrigin) | 0;
    return Math.round(units / this.opts.timestampStep);
  }
}
