import type { AudioEncoder, Frame } from '../audio/types';
import { SrtpSealer } from './crypto/srtp-gcm';
import type { SenderKey } from './crypto/sender-keys';
import { RtpSender } from './rtp-sender';
import { Dtx } from './dtx';

export interface SendPathOptions {
  encoder: AudioEncoder;
  key: SenderKey;
  payloadType: number;
  /** Timestamp units per frame (clock rate × frame duration). */
  timestampStep: number;
  red: { payloadType: number } | false;
  redundancy: number;
  /** The comfort-noise payload type when it is agreed. */
  cn?: { payloadType: number } | false;
  /** Frame duration (ms), for the silence policy's timing. */
  frameMs: number;
  /** Leave silent frames out (only with `cn` agreed); default false. */
  dtx?: boolean;
}

/**
 * The send half of one stream, for a call (MediaSession) and for a room member's own stream:
 * encoder → RTP (+RED) → SRTP. Each frame is encoded once and sealed once, whoever it then goes to.
 */
export class SendPath {
  private rtp!: RtpSender;
  private sealer!: SrtpSealer;
  packetsSent = 0;
  /** The sealed packets' bytes, as they go on the wire. */
  bytesSent = 0;
  /** The same packets' bytes before sealing (RTP header and payload, without the SRTP tag). */
  rtpBytesSent = 0;
  /** Frames not sent because they were silent (DTX). */
  framesSuppressed = 0;
  cnPacketsSent = 0;
  private readonly dtx: Dtx;

  constructor(private readonly opts: SendPathOptions) {
    this.rekey(opts.key);
    this.dtx = new Dtx({ frameMs: opts.frameMs, dtx: opts.dtx ?? false, cn: !!opts.cn });
  }

  /** Whether the last captured frame held voice (and was not muted). */
  get voice(): boolean {
    return this.dtx.voice;
  }

  /**
   * One captured frame, processed, with its voice verdict (null: none), under the silence
   * policy (dtx.ts): its packet, a comfort-noise packet in its place, or null when nothing goes.
   * Muted, nothing is encoded.
   */
  outgoing(frame: Frame, verdict: boolean | null, muted: boolean): Buffer | null {
    const decision = muted ? this.dtx.muted() : this.dtx.frame(frame, verdict);
    if (decision.send) return this.packet(frame);
    const cn = decision.cn && this.comfortNoise(decision.cn);
    this.skip(!muted);
    return cn || null;
  }

  /** From the next packet on: this key, its SSRC, and a fresh sequence and timestamp. */
  rekey(key: SenderKey): void {
    const { payloadType, timestampStep, red, redundancy } = this.opts;
    this.rtp = new RtpSender({ payloadType, timestampStep, ssrc: key.ssrc >>> 0, red, redundancy });
    this.sealer = new SrtpSealer(key);
  }

  /** One frame as a sealed RTP packet. */
  packet(frame: Frame): Buffer {
    const plain = this.rtp.packetize(this.opts.encoder.encode(frame));
    const packet = this.sealer.seal(plain);
    this.packetsSent++;
    this.bytesSent += packet.length;
    this.rtpBytesSent += plain.length;
    return packet;
  }

  /** A comfort-noise packet (RFC 3389 payload) for the current frame, sealed; null when CN is not agreed. */
  comfortNoise(payload: Buffer): Buffer | null {
    const cn = this.opts.cn;
    if (!cn) return null;
    const plain = this.rtp.control(cn.payloadType, payload);
    const packet = this.sealer.seal(plain);
    this.packetsSent++;
    this.cnPacketsSent++;
    this.bytesSent += packet.length;
    this.rtpBytesSent += plain.length;
    return packet;
  }

  /** A frame not sent: `silent` (DTX) counts it as suppressed; a muted one is not counted. */
  skip(silent: boolean): void {
    this.rtp.skip();
    if (silent) this.framesSuppressed++;
  }

  close(): void {
    this.opts.encoder.close();
  }
}
