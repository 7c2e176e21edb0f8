import { EventEmitter } from 'node:events';
import type { SignalingClient } from './signaling-client';
import { answerOffer } from '../media/negotiation';
import type { MediaSession } from '../media/media-session';
import { ActiveCall, type CallControl, type CallEnd } from './call-active';
import { CallFailedError } from './call-errors';
import { localCodecs, makeDevices, newSsrc, openLink, startMedia, type InputSpec, type MediaSettings, type OutputSpec } from './call-media';
import { CallStateMachine } from './call-state';

export interface IncomingCallEvents {
  /** The caller gave up before the answer. */
  cancelled: [CallEnd];
  /** The call ended before it was answered (cancelled, timed out, caller gone). */
  ended: [CallEnd];
}

/**
 * A call ringing here. accept() opens the devices first and answers only once they work,
 * so a device problem declines the call instead of leaving the caller with dead air.
 */
export class IncomingCall extends EventEmitter<IncomingCallEvents> {
  private readonly state = new CallStateMachine('ringing');

  constructor(
    readonly id: string,
    readonly from: string,
    private readonly offer: Record<string, unknown>,
    private readonly signaling: SignalingClient,
    private readonly settings: MediaSettings,
    private readonly control: CallControl & { incomingEnded(call: IncomingCall): void },
    private readonly defaults: { input: InputSpec; output: OutputSpec },
  ) {
    super();
  }

  get phase(): string {
    return this.state.phase;
  }

  async accept(opts: { input?: InputSpec; output?: OutputSpec } = {}): Promise<ActiveCall> {
    if (!this.state.apply('answered')) throw this.gone();
    let media: MediaSession | undefined;
    try {
      const devices = makeDevices(opts.input ?? this.defaults.input, opts.output ?? this.defaults.output);
      const { link, candidates } = await openLink(this.settings);
      const result = answerOffer(this.offer, { codecs: localCodecs(this.settings), red: true, candidates, ssrc: newSsrc() });
      if (!result.ok) {
        link.close();
        throw new CallFailedError('incompatible', result.message);
      }
      media = await startMedia(this.settings, link, result.agreement, devices);
      if (this.state.phase === 'ended') throw this.gone();
      await this.signaling.answer(this.id, { accept: true, answer: result.answer });
      if (!this.state.apply('media_up')) throw this.gone();
      this.control.incomingEnded(this);
      const active = new ActiveCall(this.from, this.id, result.agreement, media, this.control);
      this.control.adopt(active);
      return active;
    } catch (err) {
      await media?.stop();
      if (this.state.apply('end')) {
        this.control.incomingEnded(this);
        const reason = err instanceof CallFailedError && err.reason === 'incompatible' ? 'incompatible' : 'declined';
        void this.signaling.answer(this.id, { accept: false, reason }).catch(() => undefined);
      }
      if (err instanceof CallFailedError) throw err;
      throw new CallFailedError('cancelled', `the call from ${this.from} is no longer there (${(err as Error).message})`);
    }
  }

  async decline(): Promise<void> {
    if (!this.state.apply('end')) return;
    this.control.incomingEnded(this);
    await this.signaling.answer(this.id, { accept: false, reason: 'declined' }).catch(() => undefined);
  }

  /** The caller cancelled, the ring timed out or the caller vanished. */
  onEnded(info: CallEnd): void {
    if (!this.state.apply('end')) return;
    this.control.incomingEnded(this);
    if (info.reason === 'cancelled') this.emit('cancelled', info);
    this.emit('ended', info);
  }

  private gone(): CallFailedError {
    return new CallFailedError('cancelled', `the call from ${this.from} is no longer there`);
  }
}
