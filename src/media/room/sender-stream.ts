import { LevelMeter, frameLevel } from '../../audio/level-meter';
import type { AudioDecoder, Frame } from '../../audio/types';
import type { SenderKey } from '../crypto/sender-keys';
import { ReceivePath, type ReceivePathOptions, type ReceiveStats } from '../receive-path';

export interface TalkingOptions {
  /** A frame louder than this (dBFS RMS) is speech (default -45). */
  thresholdDb?: number;
  /** How long "talking" holds after the last loud frame, so gaps between words do not flicker (default 300 ms). */
  hangMs?: number;
}

export interface SenderStreamOptions extends Omit<ReceivePathOptions, 'key' | 'decoder'> {
  name: string;
  key: SenderKey;
  /** The stream's own decoder (codec state is per stream); closed with the stream. */
  decoder: AudioDecoder;
  talking?: TalkingOptions;
}

/**
 * One remote member's audio in a room: its packets, opened with its sender key, through its own
 * jitter buffer and decoder; its level, whether it is talking, and whether this side has muted it.
 */
export class SenderStream {
  readonly name: string;
  readonly ssrc: number;
  /** Muted here: still received and played out (so unmuting resumes at the present), not mixed. */
  muted = false;
  /** Whether any packet of this stream has authenticated yet. */
  heard = false;
  private readonly path: ReceivePath;
  private readonly decoder: AudioDecoder;
  private readonly meter = new LevelMeter();
  private readonly thresholdDb: number;
  private readonly hangMs: number;
  private loudAt = -Infinity;
  private talkingNow = false;

  constructor(opts: SenderStreamOptions) {
    this.name = opts.name;
    this.ssrc = opts.key.ssrc >>> 0;
    this.decoder = opts.decoder;
    this.path = new ReceivePath({ ...opts, key: opts.key });
    this.thresholdDb = opts.talking?.thresholdDb ?? -45;
    this.hangMs = opts.talking?.hangMs ?? 300;
  }

  /** One sealed packet carrying this stream's SSRC; false when it was dropped (counted). */
  accept(buf: Buffer, nowMs: number): boolean {
    if (!this.path.accept(buf, nowMs)) return false;
    this.heard = true;
    return true;
  }

  get playing(): boolean {
    return this.path.playing;
  }

  /** Whether the member's speech plays now (not comfort noise, not nothing). */
  get speaking(): boolean {
    return this.path.speaking;
  }

  initialDelayMs(): number {
    return this.path.initialDelayMs();
  }

  /** This tick's frame, metered; whether the talking state changed is read from `talking` after. */
  tick(nowMs: number, frameMs: number): Frame {
    const frame = this.path.tick(nowMs);
    this.meter.update(frame, frameMs);
    if (frameLevel(frame).rms > this.thresholdDb) this.loudAt = nowMs;
    this.talkingNow = nowMs - this.loudAt < this.hangMs;
    return frame;
  }

  get talking(): boolean {
    return this.talkingNow;
  }

  /** The smoothed level of what this stream plays, dBFS RMS. */
  get level(): number {
    return this.meter.current.rms;
  }

  stats(): ReceiveStats {
    return this.path.stats();
  }

  close(): void {
    this.decoder.close();
  }
}
