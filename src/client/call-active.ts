import { EventEmitter } from 'node:events';
import type { MediaSession } from '../media/media-session';
import type { Agreement } from '../media/negotiation';
import type { CallStats } from '../media/stats';
import { getCodec } from '../audio';
import type { MediaError } from '../media/errors';
import type { PathInfo } from '../media/ice/pairs';
import { causeOf } from './call-media';
import { isFailureCause, type CallEnd, type FailureCause } from './call-reasons';
import type { DeviceChange } from './device-failover';
import type { VoiceInUse } from './call-media';

/** A call without microphone processing or silence suppression. */
export const NO_VOICE: VoiceInUse = { running: {}, missing: [], dtx: false };

export interface CallCodec {
  name: 'opus' | 'pcm';
  backend: string;
  payloadType: number;
  clockRate: number;
  /** RFC 2198 redundancy in use. */
  red: boolean;
}

/** What a live call asks of the phone that owns it. */
export interface ActiveOwner {
  hangup(call: ActiveCall): Promise<void>;
  /** The call's own media failed: the phone tells the other side and ends the call. */
  mediaFailed(call: ActiveCall, cause: FailureCause, err: Error): void;
  /** The peer hung up over the media path (RTCP BYE). */
  peerHungUp(call: ActiveCall, end: CallEnd): void;
}

export interface ActiveCallEvents {
  ended: [CallEnd];
  /** Another pair now carries the audio (a better one answered, or the network changed). */
  path: [PathInfo];
  /** The peer's first audio arrived (at once after construction when it came before). */
  audio: [];
  /** The path stopped answering; checks run again while the call goes on. */
  reconnecting: [string];
  /** A device failed and playback or capture moved elsewhere; the call goes on. */
  device: [DeviceChange];
}

/** Subscribes to the call's device changes; returns what unsubscribes. */
export type DeviceWatch = (listener: (change: DeviceChange) => void) => () => void;

/** A call in progress. 'ended' fires once, after media has stopped and the sink is closed. */
export class ActiveCall extends EventEmitter<ActiveCallEvents> {
  readonly codec: CallCodec;
  readonly frameMs: number;
  /**
   * The short authentication string: the same on both sides unless someone sits between them.
   * Read it to each other to be sure.
   */
  readonly sas: string;
  /** The peer's identity key (base64url) and its fingerprint (SHA256:…). */
  readonly peerIdentity: string;
  readonly peerFingerprint: string;
  readonly startedAt = Date.now();
  private ending: Promise<void> | null = null;
  private readonly unwatchDevices: () => void;

  constructor(
    readonly peer: string,
    readonly id: string,
    agreement: Agreement,
    private readonly media: MediaSession,
    private readonly owner: ActiveOwner,
    watchDevices: DeviceWatch = () => () => undefined,
    /** The microphone processing in use: its stages, their engines, and what could not run. */
    readonly voice: VoiceInUse = NO_VOICE,
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
    this.sas = agreement.keys.sas;
    this.peerIdentity = agreement.keys.peerIdentity;
    this.peerFingerprint = agreement.keys.peerFingerprint;
    media.once('failed', this.onMediaFailed);
    this.unwatchDevices = watchDevices((change) => this.emit('device', change));
    media.on('path', this.onPath);
    media.on('disconnected', this.onDisconnected);
    media.on('bye', this.onBye);
    if (media.firstAudioAt !== null) setImmediate(this.onAudio);
    else media.once('audio', this.onAudio);
  }

  /** The pair carrying the audio, or null while checks run again after it stopped answering. */
  get path(): PathInfo | null {
    return this.media.path;
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

  /** Input (after processing, before mute) and output levels in dBFS RMS. */
  levels(): { input: number; output: number } {
    return this.media.levels();
  }

  /** Who is talking now: this side's microphone (voice, not muted) and the peer (speech, not comfort noise). */
  activity(): { local: boolean; remote: boolean } {
    const a = this.media.activity();
    return { local: a.sending, remote: a.receiving };
  }

  /** Hangs up; resolves once the media has stopped. */
  hangup(): Promise<void> {
    return this.owner.hangup(this);
  }

  /** @internal Stops the media and tells listeners once; the phone calls it for every ending. */
  end(info: CallEnd): Promise<void> {
    if (!this.ending) {
      this.media.off('failed', this.onMediaFailed);
      this.media.off('path', this.onPath);
      this.media.off('disconnected', this.onDisconnected);
      this.media.off('audio', this.onAudio);
      this.media.off('bye', this.onBye);
      this.unwatchDevices();
      // Ending it here is said over the media path too: the server may be away, or (restarted)
      // no longer know the call, and the peer must hear of it either way.
      const said = info.byMe ? this.media.bye(info.reason === 'failed' && info.cause ? `failed:${info.cause}` : 'hangup') : Promise.resolve();
      this.ending = said.then(() => this.media.stop()).then(() => {
        this.emit('ended', info);
        this.removeAllListeners();
      });
    }
    return this.ending;
  }

  private readonly onPath = (p: PathInfo): void => void this.emit('path', p);
  private readonly onAudio = (): void => {
    if (!this.ending) this.emit('audio');
  };
  private readonly onDisconnected = (why: string): void => void this.emit('reconnecting', why);

  private readonly onBye = (reason: string): void => {
    const cause = reason.startsWith('failed:') ? reason.slice(7) : undefined;
    const end: CallEnd = isFailureCause(cause) ? { reason: 'failed', cause, byMe: false, by: this.peer } : { reason: 'hangup', byMe: false, by: this.peer };
    this.owner.peerHungUp(this, end);
  };

  private readonly onMediaFailed = (err: MediaError): void => {
    this.owner.mediaFailed(this, causeOf(err.code), err);
  };
}
