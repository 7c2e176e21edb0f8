import { EventEmitter } from 'node:events';
import type { JitterBufferOptions } from '../media/jitter-buffer';
import type { CodecName } from '../audio/types';
import type { Candidate } from '../media/candidates';
import { newIceCredentials } from '../media/ice/credentials';
import type { StunServer } from '../media/ice/gather';
import type { MediaError } from '../media/errors';
import type { MediaSession } from '../media/media-session';
import { acceptAnswer, answerOffer, CN_PAYLOAD_TYPE, MEDIA_DESCRIPTION_VERSION, RED_PAYLOAD_TYPE, type Agreement } from '../media/negotiation';
import { CallSecurity, isRefusal } from '../media/crypto/call-security';
import { fingerprintOf, Identity } from '../media/crypto/identity';
import { verifyMediaKey } from '../media/crypto/media-key';
import type { KnownPeers } from './known-peers';
import { helloProof } from '../protocol/name-proof';
import type { TurnOffer, UserInfo } from '../protocol';
import { ActiveCall, NO_VOICE, type ActiveOwner } from './call-active';
import { CallFailedError } from './call-errors';
import { CallPath, gatherCandidates, whenConnected } from './call-path';
import { IncomingCall, type IncomingOwner } from './call-incoming';
import { causeOf as mediaCause, localCodecs, newSsrc, PreparedMedia, type InputSpec, type MediaSettings, type OutputSpec } from './call-media';
import { OutgoingCall, type OutgoingOwner } from './call-outgoing';
import { isFailureCause, toCallReason, type CallEnd, type FailureCause } from './call-reasons';
import { callIdOf, canMove, mediaOf, ringTimerOf, sessionOf, type Dial, type PhoneState } from './phone-state';
import { ServerLink, type ReconnectOptions } from './server-link';
import { RoomSession } from './room/room-session';
import { SignalingError, type TlsOptions } from './signaling-client';

export { ActiveCall, type CallCodec } from './call-active';
export { IncomingCall } from './call-incoming';
export { OutgoingCall } from './call-outgoing';
export { CallFailedError } from './call-errors';
export { RoomSession, type RoomEnd } from './room/room-session';
export type { RoomTerms } from './room/room-terms';
export type { CallEnd, CallReasonCode, FailureCause } from './call-reasons';
export type { PhoneState, PhoneStatus } from './phone-state';
export { SignalingError, ConnectError, ServerTrustError, type TlsOptions } from './signaling-client';
export type { ReconnectOptions } from './server-link';
export type { CallStats } from '../media/stats';
export type { Candidate } from '../media/candidates';
export type { PathInfo, PathKind } from '../media/ice/pairs';

/** The microphone processing stages and silence suppression (DTX with comfort noise). */
export interface VoiceSettings {
  aec: boolean;
  ns: boolean;
  agc: boolean;
  dtx: boolean;
}

export interface PhoneOptions {
  server: { host: string; port: number };
  /** Signaling over TLS, trusting the system's CAs or the CA or public-key pin given; plaintext without. */
  tls?: TlsOptions;
  /** Reconnecting after the server connection drops (a live call goes on meanwhile); default: for 2 min. */
  reconnect?: ReconnectOptions;
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
  /**
   * Where to learn this side's server-reflexive address (STUN Binding, RFC 8489): by default
   * the parley server's own UDP port; `false` offers host candidates only.
   */
  stun?: StunServer | false;
  /**
   * Whether to use the TURN relay the server offers with each call (`auto`, the default: its
   * pairs are checked too, and carry the audio only while no direct one answers), or `off`.
   */
  relay?: 'auto' | 'off';
  /** Jitter buffer tuning. */
  jitter?: Partial<JitterBufferOptions>;
  /**
   * Microphone processing and silence suppression, each on or off; unset ones follow the devices
   * (on for a microphone, and echo cancellation only with a speaker too).
   */
  voice?: Partial<VoiceSettings>;
  /** Earlier frames repeated in each packet (RFC 2198); default 2 for Opus, 1 for PCM. */
  redundancy?: number;
  /** This user's long-term identity key; a fresh one for this phone's life unless given. */
  identity?: Identity;
  /** Peers' identity keys as first seen: a changed one refuses the call. None: nothing is checked. */
  knownPeers?: KnownPeers;
  /** Take a peer's changed identity key (and remember it) instead of refusing the call. */
  acceptNewKey?: boolean;
}

/** A peer showed an identity key other than the one remembered for its name. */
export interface IdentityWarning {
  peer: string;
  knownFingerprint: string;
  newFingerprint: string;
  /** Taken anyway (--accept-new-key) and remembered; otherwise the call was refused. */
  accepted: boolean;
}

export interface PhoneEvents {
  /** Every change of state, with the state left behind. */
  stateChange: [PhoneState, PhoneState];
  incoming: [IncomingCall];
  /** A call that could not even ring here, e.g. no codec in common with the caller. */
  'call-failed': [{ from: string; reason: string; message: string }];
  disconnected: [{ reason: string; code?: string }];
  /** Said before any audio flows, whether the call then goes on or is refused. */
  'identity-changed': [IdentityWarning];
  /** The server connection dropped and is being re-established; a live call goes on. */
  server_reconnecting: [{ reason: string; code?: string }];
  /** Registered again under the same name: `resumed` when the server kept the session, false after a restart. */
  server_reconnected: [{ resumed: boolean; attempts: number; ms: number }];
  /** The other party of the call lost its server connection, or is back (its media may go on meanwhile). */
  peer_reconnecting: [{ call: string; name: string }];
  peer_reconnected: [{ call: string; name: string }];
}

type Reply = { accept: true; answer: Record<string, unknown> } | { accept: false; reason: 'declined' | 'busy' | 'incompatible' | 'failed'; cause?: FailureCause };

/**
 * A parley client: a signaling connection and at most one call at a time (the server enforces
 * the same). The call's whole life is `state`, changed in one place; the call handles given out
 * (OutgoingCall, IncomingCall, ActiveCall) are views that act through the phone. The terminal
 * client and the tests both drive this.
 */
export class Phone extends EventEmitter<PhoneEvents> implements OutgoingOwner, IncomingOwner, ActiveOwner {
  private registered: string | undefined;
  private readonly settings: MediaSettings;
  /** This user's long-term key: signs each call's ephemeral key. */
  readonly identity: Identity;
  private current: PhoneState = { status: 'idle' };
  /** The call being placed, until its request has been answered. */
  private placing: Promise<void> | undefined;
  /** The room this phone is in, if any (the server keeps a member out of calls meanwhile). */
  private inRoom: RoomSession | null = null;
  /** Trickling for the call whose media has started. */
  private callPath: CallPath | undefined;

  private constructor(
    private readonly signaling: ServerLink,
    private readonly opts: PhoneOptions,
  ) {
    super();
    this.identity = opts.identity ?? Identity.generate();
    this.settings = {
      codecs: opts.codecs ?? ['opus', 'pcm'],
      frameMs: opts.frameMs ?? 20,
      bitrate: opts.bitrate,
      udpPort: opts.udpPort ?? 0,
      udpHost: opts.udpHost ?? '0.0.0.0',
      candidates: opts.candidates,
      jitter: opts.jitter,
      redundancy: opts.redundancy,
      voice: opts.voice,
      allowLoopback: isLoopback(opts.server.host) || isLoopback(opts.udpHost ?? ''),
    };
    signaling.on('incoming', (m) => this.onIncoming(m.call, m.from, m.offer, m.turn));
    signaling.on('accepted', (m) => this.onAccepted(m.call, m.answer));
    signaling.on('rejected', (m) => this.onGone(m.call, { reason: toCallReason(m.reason), byMe: false, cause: causeOf(m) }));
    signaling.on('ended', (m) => this.onGone(m.call, { reason: toCallReason(m.reason), byMe: false, by: m.by, cause: causeOf(m) }));
    signaling.on('close', ({ error, reason }) => this.onClose(reason, error?.code));
    signaling.on('reconnecting', (info) => this.onServerLost(info));
    signaling.on('reconnected', (info) => this.emit('server_reconnected', info));
    signaling.on('peer_reconnecting', (m) => this.emit('peer_reconnecting', { call: m.call, name: m.name }));
    signaling.on('peer_reconnected', (m) => this.emit('peer_reconnected', { call: m.call, name: m.name }));
    signaling.on('candidate', (m) => {
      if (this.callPath?.callId === m.call) this.callPath.remote(m.candidate);
    });
  }

  /** Connects to the server; rejects with an Error naming the address and the cause. */
  static async connect(opts: PhoneOptions): Promise<Phone> {
    const signaling = await ServerLink.connect({ host: opts.server.host, port: opts.server.port, tls: opts.tls }, opts.reconnect);
    return new Phone(signaling, opts);
  }

  get name(): string | undefined {
    return this.registered;
  }

  /** Whether signaling is TLS (false: plaintext, readable and forgeable on the way). */
  get secure(): boolean {
    return this.signaling.secure;
  }

  get state(): PhoneState {
    return this.current;
  }

  get status(): PhoneState['status'] {
    return this.current.status;
  }

  /** The one place the state changes: what the old state held and the new one does not is released. */
  private set state(next: PhoneState) {
    const old = this.current;
    if (!canMove(old.status, next.status)) throw new Error(`phone: ${old.status} → ${next.status} is not a transition`);
    const media = mediaOf(old);
    if (media && media !== mediaOf(next)) void media.release();
    const session = sessionOf(old);
    if (session && next.status !== 'active' && session !== sessionOf(next)) void session.stop();
    if (this.callPath && callIdOf(next) !== this.callPath.callId) {
      this.callPath.dispose();
      this.callPath = undefined;
    }
    const timer = ringTimerOf(old);
    if (timer && timer !== ringTimerOf(next)) clearTimeout(timer);
    this.current = next;
    this.emit('stateChange', old, next);
  }

  /** Registers `name`; rejects with SignalingError (code name_taken, name_claimed, bad_name, ...) and may be retried. */
  async register(name: string, opts: { claim?: boolean } = {}): Promise<void> {
    // With the user's own identity (not a throwaway one), the name is registered with its proof:
    // a server that claims names keeps it for this key. `claim: false` for a throwaway name.
    const prove = this.opts.identity && opts.claim !== false
      ? (nonce: string, as: string) => ({ key: this.identity.publicKey, sig: this.identity.sign(helloProof(nonce, as)).toString('base64url') })
      : undefined;
    const welcome = await this.signaling.hello(name, prove);
    this.registered = welcome.name;
  }

  list(): Promise<UserInfo[]> {
    return this.signaling.list();
  }

  /** Rejects with SignalingError code 'not_found' when nobody of that name is online. */
  lookup(name: string): Promise<UserInfo> {
    return this.signaling.lookup(name);
  }

  /**
   * Places a call: opens the devices and the socket first (a bad input or output fails here,
   * before anyone is rung), then sends the offer. Its `result` resolves to the ActiveCall or
   * rejects with CallFailedError.
   */
  call(name: string, opts: { input?: InputSpec; output?: OutputSpec } = {}): OutgoingCall {
    const handle = new OutgoingCall(name, this);
    const s = this.current;
    if (s.status !== 'idle' || this.inRoom) {
      const end: CallEnd =
        s.status === 'closed'
          ? { reason: 'disconnected', byMe: true, message: 'the phone is closed' }
          : { reason: 'busy', byMe: true, message: this.inRoom ? `this phone is in room ${this.inRoom.id}: leave it first` : 'this phone is already in a call: hang up or cancel it first' };
      handle.settle({ end });
      return handle;
    }
    const dial: Dial = { handle, to: name, stage: 'preparing' };
    this.state = { status: 'dialing', call: dial };
    const placing = this.dial(dial, opts.input ?? this.opts.input ?? 'tone', opts.output ?? this.opts.output ?? 'null');
    this.placing = placing.finally(() => {
      if (this.placing === placing) this.placing = undefined;
    });
    return handle;
  }

  /** Cancels a call being placed, declines one ringing here, or hangs up the live one. */
  async hangup(): Promise<void> {
    const s = this.current;
    if (s.status === 'dialing') return this.cancel(s.call.handle);
    if (s.status === 'ringing') return this.decline(s.call.handle);
    if (s.status === 'connecting') {
      this.finish({ reason: s.call.direction === 'outgoing' ? 'cancelled' : 'hangup', byMe: true });
      await this.tell(s.call.id, 'hangup');
      return;
    }
    if (s.status === 'active') return this.hangupActive(s.call);
  }

  /**
   * Creates a room (`create`: with the id given, or one the server mints) or joins one, with this
   * phone's codecs, identity and known peers. Rejects with SignalingError (busy, room_full, ...)
   * or CallFailedError (a device that won't open).
   */
  async enterRoom(how: 'create' | 'join', room: string | undefined, opts: { input?: InputSpec; output?: OutputSpec } = {}): Promise<RoomSession> {
    if (!this.registered) throw new SignalingError('not_registered', 'register a name first');
    if (this.current.status !== 'idle' || this.inRoom) throw new SignalingError('busy', this.inRoom ? `already in room ${this.inRoom.id}: leave it first` : 'in a call: hang up first');
    const session = await RoomSession.enter(
      {
        link: this.signaling,
        me: this.registered,
        identity: this.identity,
        settings: this.settings,
        serverHost: this.opts.server.host,
        trust: (peer, key) => {
          if (!this.peerKeyAllowed(peer, key)) return false;
          this.opts.knownPeers?.remember(peer, key);
          return true;
        },
      },
      how,
      room,
      { input: opts.input ?? this.opts.input ?? 'tone', output: opts.output ?? this.opts.output ?? 'null' },
    );
    this.inRoom = session;
    session.once('ended', () => {
      if (this.inRoom === session) this.inRoom = null;
    });
    return session;
  }

  /** The room this phone is in, if any. */
  get room(): RoomSession | null {
    return this.inRoom;
  }

  /** Hangs up or cancels any call and leaves the server, which frees the name. */
  async close(): Promise<void> {
    if (this.current.status === 'closed') return;
    await this.inRoom?.leave();
    await this.hangup().catch(() => undefined);
    // A call request still on its way is cancelled when its reply comes: wait for that.
    await this.placing;
    if (this.status !== 'closed') this.state = { status: 'closed' };
    await this.signaling.close();
  }

  // ---- OutgoingOwner ---------------------------------------------------------

  idOf(handle: OutgoingCall): string | undefined {
    const s = this.current;
    if (s.status === 'dialing' && s.call.handle === handle) return s.call.id;
    return undefined;
  }

  async cancel(handle: OutgoingCall): Promise<void> {
    const s = this.current;
    if (s.status === 'dialing' && s.call.handle === handle) {
      const id = s.call.id;
      this.finish({ reason: 'cancelled', byMe: true });
      // Without an id the request is still on its way: dial() cancels once the id arrives.
      if (id) await this.tell(id, 'cancel');
    } else if (s.status === 'connecting' && s.call.handle === handle) {
      const id = s.call.id;
      this.finish({ reason: 'cancelled', byMe: true });
      await this.tell(id, 'hangup');
    }
  }

  // ---- IncomingOwner ---------------------------------------------------------

  phaseOf(handle: IncomingCall): 'ringing' | 'answering' | 'gone' {
    const s = this.current;
    if (s.status === 'ringing' && s.call.handle === handle) return 'ringing';
    if (s.status === 'connecting' && s.call.direction === 'incoming' && s.call.id === handle.id) return 'answering';
    return 'gone';
  }

  async accept(handle: IncomingCall, opts: { input?: InputSpec; output?: OutputSpec }): Promise<ActiveCall> {
    const s = this.current;
    if (s.status !== 'ringing' || s.call.handle !== handle) {
      throw new CallFailedError({ reason: 'cancelled', byMe: false, message: `the call from ${handle.from} is no longer there` });
    }
    const { id, from, plan, turn } = s.call;
    const security = new CallSecurity(this.identity);
    const connecting = { id, peer: from, direction: 'incoming' as const };
    this.state = { status: 'connecting', call: connecting };
    const stillHere = () => this.current.status === 'connecting' && this.current.call.id === id;
    let media: PreparedMedia | undefined;
    let answered = false;
    try {
      media = await PreparedMedia.open(this.settings, opts.input ?? this.opts.input ?? 'tone', opts.output ?? this.opts.output ?? 'null');
      if (!stillHere()) throw this.goneError(id, from);
      this.state = { status: 'connecting', call: { ...connecting, media } };
      if (turn && this.opts.relay !== 'off') media.startRelay(turn);
      const gathered = await gatherCandidates(media.link, media.candidates, this.stunServer());
      if (!stillHere()) throw this.goneError(id, from);
      // The relay goes in the answer when it is ready by now; otherwise it is trickled.
      const relayed = media.relay?.candidate();
      const candidates = relayed ? [...gathered, relayed] : gathered;
      const ssrc = newSsrc();
      const place = { role: 'callee' as const, ssrc, ufrag: plan.answer.ice.ufrag };
      const answer = { ...plan.answer, candidates, ssrc, crypto: security.describe(place) };
      const keys = security.agree(place, plan.remote, { ssrc: plan.terms.remoteSsrc, ufrag: plan.terms.remoteIce.ufrag });
      // The caller's signature was checked when the call came in: only a bad X25519 key is left.
      if (isRefusal(keys)) throw new CallFailedError({ reason: 'failed', cause: 'bad_signature', byMe: true, message: keys.message });
      const agreement: Agreement = { ...plan.terms, localSsrc: ssrc, localCandidates: candidates, keys };
      const session = await media.start(this.settings, agreement);
      if (!stillHere()) {
        await session.stop();
        throw this.goneError(id, from);
      }
      this.state = { status: 'connecting', call: { ...connecting, media, session } };
      this.callPath = new CallPath(id, session, media.link, candidates, this.stunServer(), (c) => this.signaling.candidate(id, { ...c }));
      if (media.relay) this.callPath.useRelay(media.relay);
      this.reply(id, { accept: true, answer });
      answered = true;
      // "Connected" means audio can flow: a pair has answered both ways, not merely "accepted".
      await this.connected(session);
      if (!stillHere()) throw this.goneError(id, from);
      const active = new ActiveCall(from, id, agreement, session, this, media.onDevice.bind(media), media.voice ?? NO_VOICE);
      this.opts.knownPeers?.remember(from, agreement.keys.peerIdentity);
      this.state = { status: 'active', call: active };
      return active;
    } catch (err) {
      await media?.release();
      const failure = !stillHere() && answered ? this.goneError(id, from) : asFailure(err);
      if (stillHere()) {
        const end = failure.end;
        this.finish(end);
        if (answered) void this.tell(id, 'hangup', { reason: 'failed', cause: end.cause });
        else this.reply(id, { accept: false, reason: 'failed', cause: end.cause });
      }
      throw failure;
    }
  }

  async decline(handle: IncomingCall): Promise<void> {
    const s = this.current;
    if (s.status !== 'ringing' || s.call.handle !== handle) return;
    this.finish({ reason: 'declined', byMe: true });
    await this.signaling.answer(s.call.id, { accept: false, reason: 'declined' }).catch(() => undefined);
  }

  // ---- ActiveOwner -----------------------------------------------------------

  async hangupActive(call: ActiveCall): Promise<void> {
    const s = this.current;
    if (s.status !== 'active' || s.call !== call) return call.end({ reason: 'hangup', byMe: true });
    const done = this.finish({ reason: 'hangup', byMe: true, by: this.registered });
    await Promise.all([this.tell(call.id, 'hangup'), done]);
  }

  /** The peer's hang-up came over the media path (RTCP BYE): the server may be away, or no longer know the call. */
  peerHungUp(call: ActiveCall, end: CallEnd): void {
    const s = this.current;
    if (s.status === 'active' && s.call === call) void this.finish(end);
  }

  mediaFailed(call: ActiveCall, cause: FailureCause, err: Error): void {
    const s = this.current;
    if (s.status !== 'active' || s.call !== call) return;
    const detail = (err as { detail?: string }).detail;
    void this.finish({ reason: 'failed', cause, byMe: true, message: err.message, detail: detail || err.message });
    void this.tell(call.id, 'hangup', { reason: 'failed', cause });
  }

  // ---- the call's life -------------------------------------------------------

  private async dial(dial: Dial, input: InputSpec, output: OutputSpec): Promise<void> {
    const current = () => (this.current.status === 'dialing' && this.current.call.handle === dial.handle ? this.current.call : undefined);
    let media: PreparedMedia;
    try {
      media = await PreparedMedia.open(this.settings, input, output);
    } catch (err) {
      if (current()) this.finish(endOf(err));
      return;
    }
    if (!current()) return void media.release();
    const candidates = await gatherCandidates(media.link, media.candidates, this.stunServer());
    const preparing = current();
    if (!preparing) return void media.release();
    const ssrc = newSsrc();
    const ice = newIceCredentials();
    const security = new CallSecurity(this.identity);
    const offer = {
      v: MEDIA_DESCRIPTION_VERSION,
      codecs: localCodecs(this.settings),
      red: { payloadType: RED_PAYLOAD_TYPE },
      // Comfort noise is offered always: whether silences are suppressed is each sender's setting.
      cn: { payloadType: CN_PAYLOAD_TYPE },
      candidates,
      ssrc,
      ice,
      crypto: security.describe({ role: 'caller', ssrc, ufrag: ice.ufrag }),
    } as const;
    this.state = { status: 'dialing', call: { ...preparing, stage: 'requesting', media, offer, security } };
    let callId: string;
    try {
      const ringing = await this.signaling.call(dial.to, offer);
      callId = ringing.call;
      // Allocated while the callee decides; its candidate is trickled once the call is accepted.
      if (ringing.turn && this.opts.relay !== 'off' && current()) media.startRelay(ringing.turn);
    } catch (err) {
      if (current()) this.finish(endOf(err));
      return;
    }
    const requesting = current();
    if (!requesting) {
      // Cancelled while the request was on its way: the call exists now, so cancel it.
      await this.tell(callId, 'cancel');
      return;
    }
    const ringTimer = this.opts.ringTimeoutMs
      ? setTimeout(() => {
          if (current()?.id !== callId) return;
          this.finish({ reason: 'timeout', byMe: false });
          void this.tell(callId, 'cancel');
        }, this.opts.ringTimeoutMs)
      : undefined;
    this.state = { status: 'dialing', call: { ...requesting, stage: 'ringing', id: callId, ringTimer } };
    dial.handle.emit('ringing', { call: callId });
  }

  private onAccepted(callId: string, body: Record<string, unknown>): void {
    const s = this.current;
    if (s.status !== 'dialing' || s.call.id !== callId || !s.call.media || !s.call.offer || !s.call.security) return;
    const { handle, media, offer, to, security } = s.call;
    const accepted = acceptAnswer(body, offer);
    if ('error' in accepted) {
      this.finish({ reason: 'incompatible', byMe: true, message: accepted.error });
      void this.tell(callId, 'hangup');
      return;
    }
    const { terms, remote } = accepted;
    const keys = security.agree({ role: 'caller', ssrc: offer.ssrc, ufrag: offer.ice.ufrag }, remote, { ssrc: terms.remoteSsrc, ufrag: terms.remoteIce.ufrag });
    if (isRefusal(keys)) {
      this.finish({ reason: 'failed', cause: 'bad_signature', byMe: true, message: keys.message });
      void this.tell(callId, 'hangup', { reason: 'failed', cause: 'bad_signature' });
      return;
    }
    // Before any audio: a name that shows another key than last time is refused unless told otherwise.
    if (!this.peerKeyAllowed(to, keys.peerIdentity)) {
      this.finish({ reason: 'failed', cause: 'identity_changed', byMe: true });
      void this.tell(callId, 'hangup', { reason: 'failed', cause: 'identity_changed' });
      return;
    }
    const agreement: Agreement = { ...terms, keys };
    this.state = { status: 'connecting', call: { id: callId, peer: to, direction: 'outgoing', handle, media } };
    void this.connectOutgoing(handle, callId, to, media, agreement);
  }

  private async connectOutgoing(handle: OutgoingCall, callId: string, to: string, media: PreparedMedia, agreement: Agreement): Promise<void> {
    const stillHere = () => this.current.status === 'connecting' && this.current.call.id === callId;
    try {
      const session = await media.start(this.settings, agreement);
      if (!stillHere()) return void (await session.stop());
      this.state = { status: 'connecting', call: { id: callId, peer: to, direction: 'outgoing', handle, media, session } };
      this.callPath = new CallPath(callId, session, media.link, agreement.localCandidates, this.stunServer(), (c) => this.signaling.candidate(callId, { ...c }));
      if (media.relay) this.callPath.useRelay(media.relay);
      await this.connected(session);
      if (!stillHere()) return;
      const active = new ActiveCall(to, callId, agreement, session, this, media.onDevice.bind(media), media.voice ?? NO_VOICE);
      this.opts.knownPeers?.remember(to, agreement.keys.peerIdentity);
      this.state = { status: 'active', call: active };
      handle.settle({ call: active });
    } catch (err) {
      if (!stillHere()) return;
      const end = endOf(err);
      this.finish(end);
      void this.tell(callId, 'hangup', end.reason === 'failed' ? { reason: 'failed', cause: end.cause } : undefined);
    }
  }

  private onIncoming(callId: string, from: string, offer: Record<string, unknown>, turn: TurnOffer | undefined): void {
    if (this.current.status !== 'idle') {
      this.reply(callId, { accept: false, reason: 'busy' });
      return;
    }
    // Negotiated once, before anyone is asked: nobody should pick up a call that cannot carry audio.
    const plan = answerOffer(offer, { codecs: localCodecs(this.settings), red: true, candidates: [], ssrc: 0, ice: newIceCredentials() });
    if (!plan.ok) {
      this.reply(callId, { accept: false, reason: 'incompatible' });
      this.emit('call-failed', { from, reason: 'incompatible', message: `call from ${from} refused: ${plan.message}` });
      return;
    }
    // Checked before anyone is asked, so a forged or unknown key never rings.
    const remote = { role: 'caller' as const, ssrc: plan.terms.remoteSsrc, ufrag: plan.terms.remoteIce.ufrag };
    if (!verifyMediaKey(plan.remote, remote.role, remote.ssrc, remote.ufrag)) {
      this.reply(callId, { accept: false, reason: 'failed', cause: 'bad_signature' });
      this.emit('call-failed', { from, reason: 'bad_signature', message: `call from ${from} refused: its media key is not signed by its identity key` });
      return;
    }
    if (!this.peerKeyAllowed(from, plan.remote.identity)) {
      this.reply(callId, { accept: false, reason: 'failed', cause: 'identity_changed' });
      this.emit('call-failed', {
        from,
        reason: 'identity_changed',
        message: `call from ${from} refused: ${from}'s identity key is not the one remembered (if ${from} really has a new key, run with --accept-new-key)`,
      });
      return;
    }
    const handle = new IncomingCall(callId, from, this);
    this.state = { status: 'ringing', call: { handle, id: callId, from, plan, turn } };
    this.emit('incoming', handle);
  }

  /** The server says the call is over: refused, cancelled, timed out, hung up or the peer gone. */
  private onGone(callId: string, end: CallEnd): void {
    if (callIdOf(this.current) !== callId) return;
    void this.finish(end);
  }

  /**
   * The server connection dropped. An answered call goes on, connected or still checking (its
   * media is peer to peer, and the server keeps its record through the grace); one still ringing
   * cannot (the server ends it for the other party too).
   */
  private onServerLost(info: { reason: string; code?: string }): void {
    const s = this.current;
    if (s.status === 'dialing' || s.status === 'ringing') {
      void this.finish({ reason: 'disconnected', byMe: false, message: info.reason });
    }
    this.emit('server_reconnecting', info);
  }

  private onClose(reason: string, code?: string): void {
    const wasClosed = this.current.status === 'closed';
    if (!wasClosed) {
      void this.finish({ reason: 'disconnected', byMe: false, message: reason });
      this.state = { status: 'closed' };
      this.emit('disconnected', code ? { reason, code } : { reason });
    }
  }

  /**
   * Ends whatever call there is with `end` and goes back to idle (closed stays closed): the
   * handle is settled or told, a live call's media stopped. Resolves when the media has stopped.
   */
  private finish(end: CallEnd): Promise<void> {
    const s = this.current;
    let stopped: Promise<void> = Promise.resolve();
    if (s.status === 'idle' || s.status === 'closed') return stopped;
    this.state = { status: 'idle', ended: { id: callIdOf(s), peer: peerOf(s), end } };
    switch (s.status) {
      case 'dialing':
        s.call.handle.settle({ end });
        break;
      case 'ringing':
        s.call.handle.emit('ended', end);
        s.call.handle.removeAllListeners();
        break;
      case 'connecting':
        s.call.handle?.settle({ end });
        break;
      case 'active':
        stopped = s.call.end(end);
        break;
    }
    return stopped;
  }

  private reply(callId: string, reply: Reply): void {
    void this.signaling.answer(callId, reply).catch(() => undefined);
  }

  /** Tells the server about the call; a lost connection or a call already gone is no matter here. */
  private tell(callId: string, what: 'cancel' | 'hangup', failure?: { reason: 'failed'; cause?: FailureCause }): Promise<void> {
    const sent = what === 'cancel' ? this.signaling.cancel(callId) : this.signaling.hangup(callId, failure);
    return sent.catch(() => undefined);
  }

  /** Why a call being answered is no longer there: how it ended, when the phone knows. */
  private goneError(id: string, from: string): CallFailedError {
    const s = this.current;
    if (s.status === 'idle' && s.ended?.id === id) return new CallFailedError(s.ended.end);
    return new CallFailedError({ reason: 'cancelled', byMe: false, message: `the call from ${from} is no longer there` });
  }

  /** Waits until a pair answers both ways; a failure (no path, a device) becomes a CallFailedError. */
  private async connected(session: MediaSession): Promise<void> {
    try {
      await whenConnected(session);
    } catch (err) {
      const e = err as MediaError;
      throw new CallFailedError({ reason: 'failed', cause: mediaCause(e.code), byMe: true, message: e.message, detail: e.detail || e.message });
    }
  }

  /**
   * Whether `peer`'s identity key may be used: new (remembered when the call connects), the same
   * as before, or changed and taken because acceptNewKey says so. A changed key is announced
   * either way, before any audio flows.
   */
  private peerKeyAllowed(peer: string, key: string): boolean {
    const known = this.opts.knownPeers?.check(peer, key);
    if (!known || known.status !== 'changed') return true;
    const accepted = this.opts.acceptNewKey === true;
    this.emit('identity-changed', { peer, knownFingerprint: known.knownFingerprint, newFingerprint: fingerprintOf(key), accepted });
    if (accepted) this.opts.knownPeers?.remember(peer, key);
    return accepted;
  }

  /** Where this side learns its server-reflexive address, if anywhere. */
  private stunServer(): StunServer | null {
    if (this.opts.stun === false) return null;
    if (this.opts.stun) return this.opts.stun;
    const port = this.signaling.welcome?.udpPort;
    return port ? { host: this.opts.server.host, port } : null;
  }
}

/** Whether a host name or address is this machine's loopback. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host) || /^::ffff:127\./i.test(host);
}

function peerOf(s: Exclude<PhoneState, { status: 'idle' | 'closed' }>): string {
  switch (s.status) {
    case 'dialing':
      return s.call.to;
    case 'ringing':
      return s.call.from;
    case 'connecting':
    case 'active':
      return s.call.peer;
  }
}

function causeOf(m: object): FailureCause | undefined {
  const cause = (m as { cause?: unknown }).cause;
  return isFailureCause(cause) ? cause : undefined;
}

function asFailure(err: unknown): CallFailedError {
  return err instanceof CallFailedError ? err : new CallFailedError({ reason: 'error', byMe: true, message: (err as Error).message });
}

/** Any error on the way to a call, as a call end. */
function endOf(err: unknown): CallEnd {
  if (err instanceof CallFailedError) return err.end;
  if (err instanceof SignalingError) {
    const reason = toCallReason(err.code);
    return { reason, byMe: false, message: reason === 'error' || reason === 'rate_limited' || reason === 'disconnected' ? err.message : undefined };
  }
  return { reason: 'error', byMe: true, message: (err as Error).message };
}
