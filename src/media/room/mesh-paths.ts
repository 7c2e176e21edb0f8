import { EventEmitter } from 'node:events';
import { s, type Infer } from '../../protocol/schema';
import type { Timers } from '../../audio/timers';
import { addressKey, type Candidate } from '../candidates';
import { IceAgent, type IceAgentOptions } from '../ice/agent';
import { iceCredentialsSchema, newIceCredentials, type IceCredentials } from '../ice/credentials';
import type { PathInfo } from '../ice/pairs';
import { parseCandidate } from '../negotiation';
import type { Address, UdpLink } from '../udp-link';

/** Candidates one signal carries at most; more are not read. */
const MAX_SIGNAL_CANDIDATES = 8;

/**
 * What one member tells another about the pair they share (carried by `room.signal`): its ICE
 * credentials for that pair and its candidates, or later candidates alone (trickled).
 */
export interface MeshSignal {
  ice?: IceCredentials;
  candidates: Candidate[];
}

const signalSchema = s.object({ ice: iceCredentialsSchema.optional(), candidates: s.array(s.unknown()).max(MAX_SIGNAL_CANDIDATES).default([]) });

/** A signal's body as read here, or null when it is not one. Candidates that do not parse are left out. */
export function parseMeshSignal(body: unknown): MeshSignal | null {
  const r = signalSchema.safeParse(body);
  if (!r.success || (!r.data.ice && r.data.candidates.length === 0)) return null;
  const candidates = r.data.candidates.map(parseCandidate).filter((c): c is Candidate => c !== null);
  return { ...(r.data.ice && { ice: r.data.ice }), candidates };
}

/** One pair's state: `waiting` for the member's signal, then ICE's. */
export type MeshPairState = 'waiting' | 'checking' | 'connected' | 'failed';

export interface MeshPathsOptions {
  link: UdpLink;
  /** This member's name: the smaller name of a pair controls its checks. */
  me: string;
  /** This member's candidates (host, as the phone may rewrite them), offered to every member. */
  candidates: readonly Candidate[];
  /** Sends a signal to one member (room.signal). */
  signal(to: string, body: MeshSignal): void;
  /** As a call's: check members' loopback addresses (only when this side is on loopback itself). */
  allowLoopback?: boolean;
  ice?: Pick<IceAgentOptions, 'timeoutMs' | 'paceMs' | 'initialRtoMs' | 'maxRtoMs' | 'consentIntervalMs' | 'consentTimeoutMs' | 'maxCandidates'>;
  timers?: Timers;
}

export interface MeshPathsEvents {
  /** A pair's state changed. */
  pair: [string, MeshPairState, PathInfo | null];
}

/** One other member: this side's credentials for the pair, and the agent once its signal came. */
interface Peer {
  readonly local: IceCredentials;
  agent: IceAgent | null;
  remoteUfrag: string | null;
  state: MeshPairState;
}

/**
 * A mesh room's paths on one member's side: for each other member, one IceAgent on the room's
 * one socket, with credentials of its own (so each agent answers only its member's checks, and
 * several share the socket). A member is told this side's credentials and candidates by signal
 * as soon as it is added; its own signal starts the checks.
 */
export class MeshPaths extends EventEmitter<MeshPathsEvents> {
  private readonly peers = new Map<string, Peer>();
  private readonly candidates: Candidate[];
  private closed = false;
  /** Signals that were not one (a bad body, or candidates before any credentials). */
  malformed = 0;

  constructor(private readonly opts: MeshPathsOptions) {
    super();
    this.candidates = [...opts.candidates];
  }

  /** A member to reach: it is sent this side's signal; checks start once its own arrives. */
  add(name: string): void {
    if (this.closed || name === this.opts.me || this.peers.has(name)) return;
    const peer: Peer = { local: newIceCredentials(), agent: null, remoteUfrag: null, state: 'waiting' };
    this.peers.set(name, peer);
    this.opts.signal(name, { ice: peer.local, candidates: [...this.candidates] });
  }

  /** A member went: its agent stops. */
  remove(name: string): void {
    const peer = this.peers.get(name);
    if (!peer) return;
    this.peers.delete(name);
    peer.agent?.stop();
  }

  /**
   * A member's signal: its credentials and candidates (a new agent when the credentials are new:
   * its media restarted), or candidates trickled. False when the body is not a signal.
   */
  signal(from: string, body: unknown): boolean {
    const s = parseMeshSignal(body);
    if (!s) {
      this.malformed++;
      return false;
    }
    this.add(from);
    const peer = this.peers.get(from);
    if (!peer) return true;
    if (s.ice && s.ice.ufrag !== peer.remoteUfrag) {
      peer.agent?.stop();
      peer.remoteUfrag = s.ice.ufrag;
      peer.agent = this.agentFor(from, peer, s.ice, s.candidates);
      return true;
    }
    if (!peer.agent) {
      this.malformed++;
      return false;
    }
    for (const c of s.candidates) peer.agent.addRemoteCandidate(c);
    return true;
  }

  /** A candidate of this side's learned later (the forwarder's view of the socket): every member is told. */
  addLocalCandidate(c: Candidate): void {
    if (this.closed || this.candidates.some((k) => addressKey(k) === addressKey(c))) return;
    this.candidates.push(c);
    for (const [name, peer] of this.peers) {
      peer.agent?.addLocalCandidate(c);
      this.opts.signal(name, { candidates: [c] });
    }
  }

  /** A STUN datagram: true when one of the agents took it. */
  handleStun(buf: Buffer, from: Address): boolean {
    for (const p of this.peers.values()) if (p.agent?.handleStun(buf, from)) return true;
    return false;
  }

  /** Whether a datagram from `from` comes from an address a member has proven. */
  accepts(from: Address): boolean {
    for (const p of this.peers.values()) if (p.agent?.accepts(from)) return true;
    return false;
  }

  /** Every member's pair carries media (true too when there is no other member). */
  get allConnected(): boolean {
    for (const p of this.peers.values()) if (p.state !== 'connected') return false;
    return true;
  }

  /** Sends the packet on every connected pair; how many copies went. */
  send(packet: Buffer): number {
    let n = 0;
    for (const p of this.peers.values()) if (p.agent?.sendMedia(packet)) n++;
    return n;
  }

  states(): Record<string, MeshPairState> {
    const out: Record<string, MeshPairState> = {};
    for (const [name, p] of this.peers) out[name] = p.state;
    return out;
  }

  close(): void {
    this.closed = true;
    for (const p of this.peers.values()) p.agent?.stop();
    this.peers.clear();
  }

  private agentFor(name: string, peer: Peer, remote: IceCredentials, candidates: Candidate[]): IceAgent {
    const agent = new IceAgent({
      ...this.opts.ice,
      link: this.opts.link,
      local: peer.local,
      remote,
      controlling: this.opts.me < name,
      localCandidates: this.candidates,
      remoteCandidates: candidates,
      allowLoopback: this.opts.allowLoopback,
      timers: this.opts.timers,
    });
    const set = (state: MeshPairState, path: PathInfo | null) => {
      if (this.peers.get(name)?.agent !== agent) return;
      peer.state = state;
      this.emit('pair', name, state, path);
    };
    agent.on('path', (p) => set('connected', p));
    agent.on('disconnected', () => set('checking', null));
    agent.once('failed', () => set('failed', null));
    peer.state = 'checking';
    agent.start();
    return agent;
  }
}
