/**
 * This client in one room: the members and the owner as the server tells them, the negotiation
 * (a member answers each offer; the owner re-offers from the counter-proposals), the sender keys
 * (sealed to each member, a new one whenever someone leaves) and, once terms are agreed, the
 * room's media: one stream sent to each member directly (mesh, up to MESH_MAX members) or to the
 * server's forwarder, one per member received and mixed.
 */
import { EventEmitter } from 'node:events';
import { lookup } from 'node:dns/promises';
import type { ForwardOffer, MemberKey, RoomMember, RoomPhase, ServerMessage, ServerMessageOf } from '../../protocol';
import type { Identity } from '../../media/crypto/identity';
import type { SenderKey } from '../../media/crypto/sender-keys';
import type { MediaError } from '../../media/errors';
import { RoomMedia } from '../../media/room/room-media';
import { CallFailedError } from '../call-errors';
import { localCodecs, PreparedMedia, type InputSpec, type MediaSettings, type OutputSpec, type VoiceInUse } from '../call-media';
import type { ServerLink } from '../server-link';
import { SignalingError, type RoomPush } from '../signaling-client';
import { RoomKeys } from './room-keys';
import type { MeshPairState } from '../../media/room/mesh-paths';
import { judge, parseCounter, parseTerms, reoffer, sameCodec, sameTerms, topologyFor, type Counter, type RoomTerms, type Topology } from './room-terms';

/** Signals kept of each member (its credentials and trickled candidates), for media that starts or restarts later. */
const MAX_KEPT_SIGNALS = 8;

export interface RoomDeps {
  link: ServerLink;
  /** This client's registered name. */
  me: string;
  identity: Identity;
  settings: MediaSettings;
  /** The server's host: its forwarder listens on its UDP port there. */
  serverHost: string;
  /** Whether a member's identity key may be used (known peers), remembering it if so. */
  trust(name: string, identityKey: string): boolean;
}

export interface RoomDevices {
  input: InputSpec;
  output: OutputSpec;
}

export type RoomEnd = { reason: 'left' | 'disconnected' | 'failed'; message?: string };

export interface RoomEvents {
  member_joined: [{ name: string }];
  member_left: [{ name: string; owner: string; disconnected: boolean }];
  /** The owner changed (the last one left). */
  owner: [{ name: string }];
  offer: [{ round: number; by: string; terms: RoomTerms | null }];
  acked: [{ round: number; by: string }];
  nacked: [{ round: number; by: string; counter: Counter | null }];
  /** Terms agreed: media flows with them from now on. */
  started: [{ round: number; terms: RoomTerms }];
  /** The owner has no terms every member's counter-proposal allows. */
  incompatible: [{ round: number; members: string[] }];
  /** A member's first audio. */
  audio: [{ name: string }];
  /** A mesh pair's state changed (`failed`: this client falls back to the forwarder, when there is one). */
  pair: [{ name: string; state: MeshPairState }];
  /** A mesh pair failed with no forwarder to fall back on: that member does not hear this client. */
  unreachable: [{ name: string }];
  /** A member whose key is not taken (forged, or not the one remembered for the name): it is not heard and not given ours. */
  untrusted: [{ name: string; why: string }];
  ended: [RoomEnd];
}

type RoomLife = { phase: 'waiting' } | { phase: 'talking'; media: RoomMedia; terms: RoomTerms } | { phase: 'left'; end: RoomEnd };

type RoomReply = ServerMessageOf<'room.created'> | ServerMessageOf<'room.joined'>;

export class RoomSession extends EventEmitter<RoomEvents> {
  readonly id: string;
  readonly created: boolean;
  private ownerName: string;
  /** Everyone in the room, this client too, longest present first. */
  private names: string[];
  private serverPhase: RoomPhase;
  /** The newest round this client knows of, and the terms it offered (as owner). */
  private round: number | null;
  private offered: RoomTerms | null = null;
  /** Counter-proposals of present members, for the owner's next offer. */
  private readonly counters = new Map<string, Counter>();
  /** Rounds already answered: an offer is answered once. */
  private answered = -1;
  private readonly senderKeys = new Map<string, SenderKey>();
  /** Each member's signals, oldest first: replayed to media that opens after they came. */
  private readonly signals = new Map<string, Record<string, unknown>[]>();
  private life: RoomLife = { phase: 'waiting' };
  /** Media changes one at a time. */
  private mediaQueue: Promise<void> = Promise.resolve();
  private prepared: PreparedMedia | null;
  /** The microphone processing of the media running now (or last run). */
  voice: VoiceInUse | null = null;
  private readonly local;

  private constructor(
    private readonly deps: RoomDeps,
    private readonly keys: RoomKeys,
    reply: RoomReply,
    /** The server's forwarder and its address; null when the server runs none (the room is then always mesh). */
    private readonly forward: ForwardOffer | null,
    private readonly forwarderIp: string | null,
    prepared: PreparedMedia,
    private readonly devices: RoomDevices,
  ) {
    super();
    this.id = reply.room;
    this.created = reply.type === 'room.created' || reply.created;
    this.ownerName = reply.owner;
    this.names = reply.members.map((m) => m.name);
    this.serverPhase = reply.phase;
    this.round = reply.round ?? null;
    this.prepared = prepared;
    this.local = localCodecs(deps.settings);
    deps.link.on('room', this.onPush);
    deps.link.on('reconnecting', this.onLost);
    deps.link.on('close', this.onLost);
  }

  /**
   * Creates a room (`create`: the id given, or one the server mints) or joins one (creating it
   * when there is none). The devices open first: one that won't fails here, before the room
   * hears of this client. Rejects with CallFailedError (a device) or SignalingError (room_full,
   * room_exists, too_many_rooms, busy, ...).
   */
  static async enter(deps: RoomDeps, how: 'create' | 'join', room: string | undefined, devices: RoomDevices): Promise<RoomSession> {
    if (how === 'join' && room === undefined) throw new SignalingError('bad_request', 'joining needs a room id');
    const prepared = await PreparedMedia.open(deps.settings, devices.input, devices.output);
    try {
      const keys = new RoomKeys(deps.identity, deps.me);
      const request = how === 'create' ? { type: 'room.create' as const, key: keys.memberKey, ...(room !== undefined && { room }) } : { type: 'room.join' as const, room: room as string, key: keys.memberKey };
      const reply = expectRoom(await deps.link.request(request));
      const ip = reply.forward ? await resolve(deps.serverHost) : null;
      const session = new RoomSession(deps, keys, reply, reply.forward ?? null, ip, prepared, devices);
      session.welcome(reply.members, reply.offer, reply.round);
      return session;
    } catch (err) {
      await prepared.release();
      throw err;
    }
  }

  get owner(): string {
    return this.ownerName;
  }

  get isOwner(): boolean {
    return this.ownerName === this.deps.me;
  }

  /** This member's name in the room. */
  get me(): string {
    return this.deps.me;
  }

  get members(): readonly string[] {
    return this.names;
  }

  get phase(): RoomPhase {
    return this.serverPhase;
  }

  /** The agreed terms media flows with, or null before any. */
  get terms(): RoomTerms | null {
    return this.life.phase === 'talking' ? this.life.terms : null;
  }

  get media(): RoomMedia | null {
    return this.life.phase === 'talking' ? this.life.media : null;
  }

  get ended(): RoomEnd | null {
    return this.life.phase === 'left' ? this.life.end : null;
  }

  /**
   * Starts a round (owner only): the terms every counter-proposal so far allows, the owner's
   * preferred otherwise, mesh or forward by the room's size unless `topology` says which
   * (forward needs the server's forwarder).
   */
  async start(opts: { topology?: Topology } = {}): Promise<void> {
    const terms = this.nextTerms();
    if (!terms) throw new SignalingError('bad_request', 'no codec here that every member can take');
    if (opts.topology === 'forward' && !this.forward) throw new SignalingError('bad_request', 'this server runs no forwarder: a room here is a mesh');
    this.offered = { ...terms, ...(opts.topology && { topology: opts.topology }) };
    await this.deps.link.request({ type: 'room.start', room: this.id, offer: this.offered });
  }

  private nextTerms(): RoomTerms | null {
    const terms = reoffer(this.local, [...this.counters.values()], { cn: true });
    return terms && { ...terms, topology: topologyFor(this.names.length, this.forward !== null) };
  }

  /** Leaves the room (the others are told) and stops its media; safe to call twice. */
  async leave(): Promise<void> {
    if (this.life.phase === 'left') return;
    await this.deps.link.request({ type: 'room.leave', room: this.id }).catch(() => undefined);
    await this.end({ reason: 'left' });
  }

  // ---- what the server says ----------------------------------------------------

  private welcome(members: RoomMember[], offer: Record<string, unknown> | undefined, round: number | undefined): void {
    for (const m of members) if (m.name !== this.deps.me) this.admit(m.name, m.key);
    if (offer && round !== undefined) this.answer(round, offer);
  }

  private readonly onPush = (msg: RoomPush): void => {
    if (msg.room !== this.id || this.life.phase === 'left') return;
    switch (msg.type) {
      case 'room.member_joined':
        if (!this.names.includes(msg.name)) this.names.push(msg.name);
        this.admit(msg.name, msg.key);
        this.media?.addPeer(msg.name);
        this.emit('member_joined', { name: msg.name });
        return this.outgrown();
      case 'room.member_left':
      case 'room.member_disconnected':
        return this.gone(msg.name, msg.owner, msg.type === 'room.member_disconnected');
      case 'room.offer':
        this.serverPhase = 'negotiating';
        this.round = msg.round;
        this.emit('offer', { round: msg.round, by: msg.by, terms: parseTerms(msg.offer) });
        return this.answer(msg.round, msg.offer);
      case 'room.acked':
        return void this.emit('acked', { round: msg.round, by: msg.by });
      case 'room.nacked':
        return this.nacked(msg.round, msg.by, msg.counter);
      case 'room.all_accepted': {
        this.serverPhase = 'running';
        this.round = msg.round;
        const terms = parseTerms(msg.offer);
        if (terms) this.talk(msg.round, terms);
        return;
      }
      case 'room.key': {
        const sk = this.keys.open(this.id, msg.from, msg.epoch, msg.sealed);
        if (!sk) return;
        this.senderKeys.set(msg.from, sk);
        this.media?.addSender(msg.from, sk);
        return;
      }
      case 'room.signal':
        return this.signalled(msg.from, msg.body);
    }
  };

  /** A member's key, checked; then ours, sealed to it. */
  private admit(name: string, key: MemberKey): void {
    if (!this.keys.admit(name, key)) return this.distrust(name, 'its room key is not signed by the identity it shows');
    if (!this.deps.trust(name, key.identity)) {
      this.keys.drop(name);
      return this.distrust(name, 'its identity key is not the one remembered for that name');
    }
    this.sendKeyTo(name);
  }

  /**
   * Said on the next turn: members already in the room are checked before enter() hands this
   * session back, and whoever listens then must still hear of them.
   */
  private distrust(name: string, why: string): void {
    setImmediate(() => this.emit('untrusted', { name, why }));
  }

  private sendKeyTo(name: string): void {
    const sealed = this.keys.sealFor(this.id, name);
    if (sealed) void this.deps.link.request({ type: 'room.key', room: this.id, to: name, epoch: this.keys.sendEpoch, sealed }).catch(() => undefined);
  }

  /** A member's signal for the mesh: kept (bounded) for media that opens later, and handed to the media running now. */
  private signalled(from: string, body: Record<string, unknown>): void {
    if (from === this.deps.me || !this.names.includes(from)) return;
    const kept = this.signals.get(from) ?? [];
    // New credentials start the member's list afresh: what came before was for media it has since closed.
    if ('ice' in body) kept.length = 0;
    if (kept.length < MAX_KEPT_SIGNALS) kept.push(body);
    this.signals.set(from, kept);
    this.media?.signal(from, body);
  }

  /**
   * The owner of a mesh room that has just grown past MESH_MAX re-offers the same codec through
   * the forwarder. A room that shrinks again stays as it is (no flapping at the threshold).
   */
  private outgrown(): void {
    // A successor owner offered nothing yet: the terms running are what it re-offers.
    const offered = this.offered ?? this.terms;
    if (!this.isOwner || !offered || this.serverPhase === 'open' || offered.topology !== 'mesh') return;
    if (topologyFor(this.names.length, this.forward !== null) !== 'forward') return;
    this.offered = { ...offered, topology: 'forward' };
    void this.deps.link.request({ type: 'room.start', room: this.id, offer: this.offered }).catch(() => undefined);
  }

  /** A member left or dropped: it is no longer mixed, and what this client sends from now on is under a key it never had. */
  private gone(name: string, owner: string, disconnected: boolean): void {
    this.names = this.names.filter((n) => n !== name);
    this.keys.drop(name);
    this.senderKeys.delete(name);
    this.counters.delete(name);
    this.signals.delete(name);
    this.media?.removeSender(name);
    this.media?.removePeer(name);
    const send = this.keys.rotate();
    this.media?.rekey(send);
    for (const n of this.names) if (n !== this.deps.me) this.sendKeyTo(n);
    this.emit('member_left', { name, owner, disconnected });
    if (owner !== this.ownerName) {
      this.ownerName = owner;
      this.emit('owner', { name: owner });
    }
  }

  /** Answers a round's offer once: ack what this client can take as it is, nack with what it could. */
  private answer(round: number, offer: Record<string, unknown>): void {
    if (round <= this.answered) return;
    this.answered = round;
    // The owner's start is its ack.
    if (this.isOwner && sameTerms(parseTerms(offer), this.offered)) return;
    const verdict = judge(offer, this.local);
    if (verdict.ack) {
      void this.deps.link.request({ type: 'room.ack', room: this.id, round }).then(
        // Joining a room already running: this client's ack is all it waits for.
        () => this.serverPhase === 'running' && this.round === round && this.talk(round, verdict.terms),
        () => undefined,
      );
    } else {
      void this.deps.link.request({ type: 'room.nack', room: this.id, round, counter: verdict.counter }).catch(() => undefined);
    }
  }

  /** A nack: the owner re-offers terms every counter so far allows, or says there are none. */
  private nacked(round: number, by: string, body: Record<string, unknown>): void {
    const counter = parseCounter(body);
    this.emit('nacked', { round, by, counter });
    if (!counter || !this.isOwner) return;
    this.counters.set(by, counter);
    const next = this.nextTerms();
    if (!next) return void this.emit('incompatible', { round, members: [...this.counters.keys()] });
    if (sameTerms(next, this.offered)) return;
    this.offered = next;
    void this.deps.link.request({ type: 'room.start', room: this.id, offer: next }).catch(() => undefined);
  }

  // ---- media -------------------------------------------------------------------

  /** Media with these terms: kept when it already runs with them, restarted when they changed. */
  private talk(round: number, terms: RoomTerms): void {
    this.mediaQueue = this.mediaQueue.then(async () => {
      if (this.life.phase === 'left') return;
      if (this.life.phase === 'talking') {
        if (sameTerms(this.life.terms, terms)) return;
        // Only the topology changed: the media moves over without a break.
        if (sameCodec(this.life.terms, terms)) {
          this.life.media.useTopology(terms.topology);
          this.life = { ...this.life, terms };
          return void this.emit('started', { round, terms });
        }
        const old = this.life.media;
        this.life = { phase: 'waiting' };
        await old.stop();
      }
      try {
        const media = await this.openMedia(terms);
        // Left while the media opened.
        if (this.ended) return void (await media.stop());
        this.life = { phase: 'talking', media, terms };
        this.emit('started', { round, terms });
      } catch (err) {
        await this.end({ reason: 'failed', message: (err as Error).message });
      }
    });
  }

  private async openMedia(terms: RoomTerms): Promise<RoomMedia> {
    const prepared = this.prepared ?? (await PreparedMedia.open(this.deps.settings, this.devices.input, this.devices.output));
    this.prepared = null;
    const { settings } = this.deps;
    const { processor, dtx } = await prepared.openVoice(settings);
    this.voice = prepared.voice;
    const { source, sink, link } = prepared.take();
    const { forward, forwarderIp } = this;
    const me = this.deps.me;
    const media = new RoomMedia({
      link,
      ...(forward && forwarderIp && { server: { address: forwarderIp, port: forward.port }, forward: { username: forward.username, password: forward.password } }),
      topology: terms.topology,
      mesh: {
        me,
        candidates: prepared.candidates,
        allowLoopback: settings.allowLoopback,
        signal: (to, body) => void this.deps.link.request({ type: 'room.signal', room: this.id, to, body: { ...body } }).catch(() => undefined),
      },
      codec: { ...terms.codec, name: terms.codec.name as 'opus' | 'pcm', red: terms.red, cn: terms.cn },
      send: this.keys.sendKey,
      source,
      sink,
      bitrate: settings.bitrate,
      redundancy: settings.redundancy,
      jitter: settings.jitter,
      voice: processor ?? undefined,
      dtx,
    });
    media.on('audio', (name: string) => this.emit('audio', { name }));
    media.on('failed', (err: MediaError) => void this.end({ reason: 'failed', message: err.message }));
    media.on('pair', (name: string, state: MeshPairState) => this.emit('pair', { name, state }));
    media.on('unreachable', (name: string) => this.emit('unreachable', { name }));
    for (const [name, sk] of this.senderKeys) media.addSender(name, sk);
    for (const name of this.names) if (name !== me) media.addPeer(name);
    await media.start();
    for (const [name, kept] of this.signals) for (const body of kept) media.signal(name, body);
    return media;
  }

  private readonly onLost = (): void => {
    void this.end({ reason: 'disconnected', message: 'the connection to the server dropped: the room went on without this client' });
  };

  private async end(end: RoomEnd): Promise<void> {
    if (this.life.phase === 'left') return;
    const media = this.media;
    this.life = { phase: 'left', end };
    this.deps.link.off('room', this.onPush);
    this.deps.link.off('reconnecting', this.onLost);
    this.deps.link.off('close', this.onLost);
    await Promise.allSettled([media?.stop(), this.prepared?.release()]);
    this.prepared = null;
    this.emit('ended', end);
  }
}

function expectRoom(m: ServerMessage): RoomReply {
  if (m.type === 'room.created' || m.type === 'room.joined') return m;
  throw new SignalingError('bad_request', `expected room.joined from the server, got ${m.type}`);
}

/** The server's address as the forwarder's datagrams will show it. */
async function resolve(host: string): Promise<string> {
  const bare = host.replace(/^\[|\]$/g, '');
  return (await lookup(bare, { family: bare.includes(':') ? 6 : 4 })).address;
}
