import { SignalingError, type SignalingClient } from './signaling-client';
import { acceptAnswer, RED_PAYLOAD_TYPE, MEDIA_DESCRIPTION_VERSION, type Offer } from '../media/negotiation';
import type { UdpLink } from '../media/udp-link';
import type { AudioSink, AudioSource } from '../audio/types';
import { ActiveCall, type CallControl } from './call-active';
import { CallFailedError } from './call-errors';
import { localCodecs, makeDevices, newSsrc, openLink, startMedia, type InputSpec, type MediaSettings, type OutputSpec } from './call-media';
import { CallStateMachine } from './call-state';

/** What the phone routes to an outgoing call while it is being placed. */
export interface CallRoute {
  readonly id: string | undefined;
  onAccepted(answer: Record<string, unknown>): void;
  onRejected(reason: string): void;
  onEnded(reason: string, by?: string): void;
  /** The signaling connection is gone. */
  onDisconnected(): void;
}

export interface OutgoingCallOptions {
  to: string;
  input: InputSpec;
  output: OutputSpec;
  ringTimeoutMs?: number;
}

/**
 * A call being placed: open the media port, send the offer, wait for the answer, start the
 * media. `result` settles once: the ActiveCall, or a CallFailedError saying why not.
 */
export class OutgoingCall implements CallRoute {
  readonly to: string;
  readonly result: Promise<ActiveCall>;
  private callId: string | undefined;
  private readonly state = new CallStateMachine('dialing');
  private resolve!: (c: ActiveCall) => void;
  private reject!: (e: Error) => void;
  private link: UdpLink | undefined;
  private offer: Offer | undefined;
  private devices: { source: AudioSource; sink: AudioSink } | undefined;
  private ringTimer: NodeJS.Timeout | undefined;
  private cancelRequested = false;

  constructor(
    private readonly signaling: SignalingClient,
    private readonly settings: MediaSettings,
    private readonly control: CallControl & { routeEnded(route: CallRoute): void },
    opts: OutgoingCallOptions,
  ) {
    this.to = opts.to;
    this.result = new Promise<ActiveCall>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    // A caller that never awaits `result` must not get an unhandled rejection.
    this.result.catch(() => undefined);
    void this.place(opts);
  }

  get id(): string | undefined {
    return this.callId;
  }

  /** Gives up on the call; `result` rejects with reason 'cancelled'. */
  async cancel(): Promise<void> {
    if (this.state.phase === 'ended') return;
    this.cancelRequested = true;
    if (this.callId && this.state.phase === 'ringing') {
      await this.signaling.cancel(this.callId).catch(() => undefined);
    } else if (this.callId && this.state.phase === 'connecting') {
      await this.signaling.hangup(this.callId).catch(() => undefined);
    }
    if (this.state.phase !== 'dialing') this.fail(new CallFailedError('cancelled'));
  }

  onAccepted(answer: Record<string, unknown>): void {
    if (!this.state.apply('answered')) return;
    clearTimeout(this.ringTimer);
    void this.connect(answer);
  }

  onRejected(reason: string): void {
    this.fail(new CallFailedError(reason, CallFailedError.describe(this.to, reason)));
  }

  onEnded(reason: string): void {
    this.fail(new CallFailedError(reason, CallFailedError.describe(this.to, reason)));
  }

  onDisconnected(): void {
    this.fail(new CallFailedError('disconnected'));
  }

  private async place(opts: OutgoingCallOptions): Promise<void> {
    try {
      this.devices = makeDevices(opts.input, opts.output);
      const codecs = localCodecs(this.settings);
      const { link, candidates } = await openLink(this.settings);
      this.link = link;
      this.offer = { v: MEDIA_DESCRIPTION_VERSION, codecs, red: { payloadType: RED_PAYLOAD_TYPE }, candidates, ssrc: newSsrc() };
      const ringing = await this.signaling.call(this.to, this.offer);
      this.callId = ringing.call;
      if (!this.state.apply('ringing')) return;
      if (this.cancelRequested) return void (await this.cancel());
      if (opts.ringTimeoutMs) {
        this.ringTimer = setTimeout(() => {
          void this.signaling.cancel(ringing.call).catch(() => undefined);
          this.fail(new CallFailedError('timeout', CallFailedError.describe(this.to, 'timeout')));
        }, opts.ringTimeoutMs);
      }
    } catch (err) {
      this.fail(asCallError(err, this.to));
    }
  }

  private async connect(answer: Record<string, unknown>): Promise<void> {
    const agreement = acceptAnswer(answer, this.offer as Offer);
    const id = this.callId as string;
    if ('error' in agreement) {
      void this.signaling.hangup(id).catch(() => undefined);
      return this.fail(new CallFailedError('incompatible', agreement.error));
    }
    try {
      const media = await startMedia(this.settings, this.link as UdpLink, agreement, this.devices as { source: AudioSource; sink: AudioSink });
      if (this.state.phase === 'ended') return void (await media.stop());
      this.state.apply('media_up');
      this.link = undefined;
      this.control.routeEnded(this);
      const active = new ActiveCall(this.to, id, agreement, media, this.control);
      this.control.adopt(active);
      this.resolve(active);
    } catch (err) {
      void this.signaling.hangup(id).catch(() => undefined);
      this.fail(asCallError(err, this.to));
    }
  }

  private fail(err: CallFailedError): void {
    if (!this.state.apply('end')) return;
    clearTimeout(this.ringTimer);
    this.link?.close();
    this.control.routeEnded(this);
    this.reject(err);
  }
}

function asCallError(err: unknown, peer: string): CallFailedError {
  if (err instanceof CallFailedError) return err;
  if (err instanceof SignalingError) {
    return new CallFailedError(err.code, err.code === 'disconnected' || err.code === 'timeout' ? err.message : CallFailedError.describe(peer, err.code));
  }
  return new CallFailedError('error', (err as Error).message);
}
