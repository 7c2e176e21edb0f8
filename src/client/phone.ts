import { EventEmitter } from 'node:events';
import type { JitterBufferOptions } from '../media/jitter-buffer';
import type { CodecName } from '../audio/types';
import type { Candidate } from '../media/candidates';
import { answerOffer } from '../media/negotiation';
import type { UserInfo } from '../protocol';
import type { ActiveCall, CallControl } from './call-active';
import { IncomingCall } from './call-incoming';
import { localCodecs, type InputSpec, type MediaSettings, type OutputSpec } from './call-media';
import { OutgoingCall, type CallRoute } from './call-outgoing';
import { SignalingClient } from './signaling-client';

export { ActiveCall, type CallEnd, type CallCodec } from './call-active';
export { IncomingCall } from './call-incoming';
export { OutgoingCall } from './call-outgoing';
export { CallFailedError, type CallFailReason } from './call-errors';
export { SignalingError } from './signaling-client';
export type { CallStats } from '../media/stats';
export type { Candidate } from '../media/candidates';

export interface PhoneOptions {
  server: { host: string; port: number };
  /** Media UDP port; 0 (default) picks a free one. */
  udpPort?: number;
  /** Address the media socket binds to (default all interfaces); host candidates follow it. */
  udpHost?: string;
  /** Source spec (tone, tone:FREQ, silence, mic, file.wav) or a source object; default 'tone'. */
  input?: InputSpec;
  /** Sink spec (speaker, null, file.wav) or a sink object; default 'null'. */
  output?: OutputSpec;
  /** Codec preference; default ['opus', 'pcm']. */
  codecs?: CodecName[];
  frameMs?: 10 | 20 | 40;
  /** Opus bitrate (bit/s). */
  bitrate?: number;
  /** Give up ringing after this long (the server has its own ring timeout too). */
  ringTimeoutMs?: number;
  /**
   * Rewrites the candidates this side advertises: the seam for NAT traversal (adding
   * server-reflexive or relay addresses), also used by tests to route media through a proxy.
   */
  candidates?: (host: Candidate[]) => Candidate[];
  /** Jitter buffer tuning. */
  jitter?: Partial<JitterBufferOptions>;
  /** Earlier frames repeated in each packet (RFC 2198); default 2 for Opus, 1 for PCM. */
  redundancy?: number;
}

export interface PhoneEvents {
  incoming: [IncomingCall];
  /** A call that could not even ring here, e.g. no codec in common with the caller. */
  'call-failed': [{ from: string; reason: string; message: string }];
  disconnected: [{ reason: string; code?: string }];
}

/**
 * A parley client: a signaling connection and at most one call at a time (the server
 * enforces the same). The terminal client and the tests both drive this.
 */
export class Phone extends EventEmitter<PhoneEvents> {
  private registered: string | undefined;
  private readonly settings: MediaSettings;
  private outgoing: OutgoingCall | null = null;
  private incoming: IncomingCall | null = null;
  private active: ActiveCall | null = null;
  private closing = false;
  private readonly control: CallControl & {
    routeEnded(route: CallRoute): void;
    incomingEnded(call: IncomingCall): void;
  };

  private constructor(
    private readonly signaling: SignalingClient,
    private readonly opts: PhoneOptions,
  ) {
    super();
    this.settings = {
      codecs: opts.codecs ?? ['opus', 'pcm'],
      frameMs: opts.frameMs ?? 20,
      bitrate: opts.bitrate,
      udpPort: opts.udpPort ?? 0,
      udpHost: opts.udpHost ?? '0.0.0.0',
      candidates: opts.candidates,
      jitter: opts.jitter,
      redundancy: opts.redundancy,
    };
    this.control = {
      selfName: () => this.registered,
      adopt: (call) => {
        this.active = call;
        if (this.closing) void call.hangup();
      },
      hangup: (id) => this.signaling.hangup(id),
      released: (call) => {
        if (this.active === call) this.active = null;
      },
      routeEnded: (route) => {
        if (this.outgoing === route) this.outgoing = null;
      },
      incomingEnded: (call) => {
        if (this.incoming === call) this.incoming = null;
      },
    };
    signaling.on('incoming', (m) => this.onIncoming(m.call, m.from, m.offer));
    signaling.on('accepted', (m) => this.routeFor(m.call)?.onAccepted(m.answer));
    signaling.on('rejected', (m) => this.routeFor(m.call)?.onRejected(m.reason));
    signaling.on('ended', (m) => this.onEnded(m.call, m.reason, m.by));
    signaling.on('close', ({ error, reason }) => this.onClose(reason, error?.code));
  }

  /** Connects to the server; rejects with an Error naming the address and the cause. */
  static async connect(opts: PhoneOptions): Promise<Phone> {
    const signaling = await SignalingClient.connect({ host: opts.server.host, port: opts.server.port });
    return new Phone(signaling, opts);
  }

  get name(): string | undefined {
    return this.registered;
  }

  /** Registers `name`; rejects with SignalingError (code name_taken, bad_name, ...) and may be retried. */
  async register(name: string): Promise<void> {
    const welcome = await this.signaling.hello(name);
    this.registered = welcome.name;
  }

  list(): Promise<UserInfo[]> {
    return this.signaling.list();
  }

  /** Rejects with SignalingError code 'not_found' when nobody of that name is online. */
  lookup(name: string): Promise<UserInfo> {
    return this.signaling.lookup(name);
  }

  /** Places a call; its `result` resolves to the ActiveCall or rejects with CallFailedError. */
  call(name: string, opts: { input?: InputSpec; output?: OutputSpec } = {}): OutgoingCall {
    const call = new OutgoingCall(this.signaling, this.settings, this.control, {
      to: name,
      input: opts.input ?? this.opts.input ?? 'tone',
      output: opts.output ?? this.opts.output ?? 'null',
      ringTimeoutMs: this.opts.ringTimeoutMs,
    });
    this.outgoing = call;
    return call;
  }

  /** Hangs up or cancels any call and leaves the server, which frees the name. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([this.active?.hangup(), this.outgoing?.cancel(), this.incoming?.decline()]);
    await this.signaling.close();
  }

  private routeFor(callId: string): CallRoute | undefined {
    return this.outgoing && this.outgoing.id === callId ? this.outgoing : undefined;
  }

  private onIncoming(callId: string, from: string, offer: Record<string, unknown>): void {
    if (this.active || this.outgoing || this.incoming || this.closing) {
      void this.signaling.answer(callId, { accept: false, reason: 'busy' }).catch(() => undefined);
      return;
    }
    // Checked before ringing: nobody should pick up a call that cannot carry audio.
    const probe = answerOffer(offer, { codecs: localCodecs(this.settings), red: true, candidates: [], ssrc: 0 });
    if (!probe.ok) {
      void this.signaling.answer(callId, { accept: false, reason: 'incompatible' }).catch(() => undefined);
      this.emit('call-failed', { from, reason: 'incompatible', message: `call from ${from} refused: ${probe.message}` });
      return;
    }
    const call = new IncomingCall(callId, from, offer, this.signaling, this.settings, this.control, {
      input: this.opts.input ?? 'tone',
      output: this.opts.output ?? 'null',
    });
    this.incoming = call;
    this.emit('incoming', call);
  }

  private onEnded(callId: string, reason: string, by?: string): void {
    if (this.active?.id === callId) void this.active.end({ reason, by });
    else if (this.incoming?.id === callId) this.incoming.onEnded({ reason, by });
    else this.routeFor(callId)?.onEnded(reason, by);
  }

  private onClose(reason: string, code?: string): void {
    void this.active?.end({ reason: 'disconnected', message: reason });
    this.outgoing?.onDisconnected();
    this.incoming?.onEnded({ reason: 'disconnected', message: reason });
    if (!this.closing) this.emit('disconnected', code ? { reason, code } : { reason });
  }
}
