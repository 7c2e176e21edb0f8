import { EventEmitter } from 'node:events';
import type { MediaSession } from '../media/media-session';
import type { Agreement } from '../media/negotiation';
import type { CallStats } from '../media/stats';
import { getCodec } from '../audio';

export interface CallEnd {
  /** 'hangup', 'peer_gone', 'device', 'no_media', 'disconnected', ... */
  reason: string;
  /** Who ended it, when the server says. */
  by?: string;
  /** A readable account when the reason alone does not say it (device errors). */
  message?: string;
}

export interface CallCodec {
  name: 'opus' | 'pcm';
  backend: string;
  payloadType: number;
  clockRate: number;
  /** RFC 2198 redundancy in use. */
  red: boolean;
}

/** What an ActiveCall asks of its owner when it ends from this side. */
export interface CallControl {
  selfName(): string | undefined;
  hangup(callId: string): Promise<void>;
  /** The call is now active: the owner routes its signaling to it. */
  adopt(call: ActiveCall): void;
  released(call: ActiveCall): void;
}

export interface ActiveCallEvents {
  ended: [CallEnd];
}

/** A call in progress. 'ended' fires once, after media has stopped and the sink is closed. */
export class ActiveCall extends EventEmitter<ActiveCallEvents> {
  readonly codec: CallCodec;
  readonly frameMs: number;
  readonly startedAt = Date.now();
  private ending: Promise<void> | null = null;

  constructor(
    readonly peer: string,
    readonly id: string,
    agreement: Agreement,
    private readonly media: MediaSession,
    private readonly control: CallControl,
  ) {
    super();
    const codec = getCodec(agreement.codec.name);
    this.codec = {
      name: agreement.codec.name,
      backend: codec.backend,
      payloadType: agreement.codec.payloadType,
      clockRate: agreement.codec.clockRate,
      red: agreement.red !== false,
    };
    this.frameMs = agreement.codec.frameMs;
    media.once('failed', (err) => {
      const reason = /media path/.test(err.message) ? 'no_media' : 'device';
      void this.control.hangup(this.id).catch(() => undefined);
      void this.end({ reason, message: err.message });
    });
  }

  get muted(): boolean {
    return this.media.muted;
  }

  set muted(m: boolean) {
    this.media.muted = m;
  }

  setMuted(m: boolean): void {
    this.media.muted = m;
  }

  get ended(): boolean {
    return this.ending !== null;
  }

  stats(): CallStats {
    return this.media.stats();
  }

  levels(): { input: number; output: number } {
    return this.media.levels();
  }

  /** Hangs up; resolves once the media has stopped. */
  async hangup(): Promise<void> {
    if (this.ending) return this.ending;
    const told = this.control.hangup(this.id).catch(() => undefined);
    await Promise.all([told, this.end({ reason: 'hangup', by: this.control.selfName() })]);
  }

  /** Ends the call from outside (the peer hung up, the server went away). */
  end(info: CallEnd): Promise<void> {
    if (!this.ending) {
      this.ending = this.media.stop().then(() => {
        this.control.released(this);
        this.emit('ended', info);
      });
    }
    return this.ending;
  }
}
