import { randomInt } from 'node:crypto';
import { encodeRtp } from '../protocol/rtp';
import { encodeRed, type RedBlock } from '../protocol/red';

export interface RtpSenderOptions {
  payloadType: number;
  /** Timestamp units per frame (clock rate × frame duration). */
  timestampStep: number;
  ssrc: number;
  /** RED payload type, or false to send the codec's payload bare. */
  red: { payloadType: number } | false;
  /** Earlier frames carried in each packet (RFC 2198 blocks). */
  redundancy: number;
}

/**
 * Turns encoded frames into RTP packets: sequence and timestamp from random starting points
 * (RFC 3550 §5.1), and with RED each packet also carries the previous `redundancy` frames
 * (a frame too large for a RED block travels only as a primary).
 */
export class RtpSender {
  private sequence = randomInt(0, 0x10000);
  private timestamp = randomInt(0, 2 ** 32 - 1);
  private first = true;
  private readonly previous: Buffer[] = [];
  packetsSent = 0;
  bytesSent = 0;

  constructor(private readonly opts: RtpSenderOptions) {}

  packetize(frame: Buffer): Buffer {
    const { red, payloadType } = this.opts;
    let payload = frame;
    if (red) {
      const n = this.previous.length;
      const blocks: RedBlock[] = this.previous.map((data, i) => ({
        payloadType,
        timestampOffset: (n - i) * this.opts.timestampStep,
        data,
      }));
      payload = encodeRed({ payloadType, data: frame }, blocks);
      this.previous.push(frame);
      if (this.previous.length > this.opts.redundancy) this.previous.shift();
    }
    const packet = encodeRtp({
      payloadType: red ? red.payloadType : payloadType,
      sequence: this.sequence,
      timestamp: this.timestamp,
      ssrc: this.opts.ssrc,
      // RFC 3551: the marker flags the first packet of a talkspurt.
      marker: this.first,
      payload,
    });
    this.first = false;
    this.sequence = (this.sequence + 1) & 0xffff;
    this.timestamp = (this.timestamp + this.opts.timestampStep) >>> 0;
    this.packetsSent++;
    this.bytesSent += packet.length;
    return packet;
  }

  /**
   * A packet of another payload type (comfort noise) at the current frame's timestamp: it takes
   * a sequence number, not a frame (`skip` then moves past the frame it stood for).
   */
  control(payloadType: number, payload: Buffer): Buffer {
    const packet = encodeRtp({ payloadType, sequence: this.sequence, timestamp: this.timestamp, ssrc: this.opts.ssrc, marker: false, payload });
    this.sequence = (this.sequence + 1) & 0xffff;
    this.packetsSent++;
    this.bytesSent += packet.length;
    return packet;
  }

  /**
   * A frame not sent (silence, mute): the timestamp moves on, the sequence does not (RFC 3550:
   * sequence numbers stay contiguous over the gap). The next frame starts a talkspurt (marker
   * set) and carries no redundancy from before the gap, which the receiver could not place.
   */
  skip(): void {
    this.timestamp = (this.timestamp + this.opts.timestampStep) >>> 0;
    this.first = true;
    this.previous.length = 0;
  }
}
