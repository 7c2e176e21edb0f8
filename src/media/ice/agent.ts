import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { realTimers, type TimerHandle, type Timers } from '../../audio/timers';
import { encodeStun, parseStun, STUN_BINDING_ERROR, STUN_BINDING_REQUEST, STUN_BINDING_SUCCESS, verifyIntegrity, type StunMessage } from '../../protocol/stun';
import { addressKey, addressScope, candidatePriority, hasLinkLocalInterface, type Candidate, type CandidateType } from '../candidates';
import type { Address, UdpLink } from '../udp-link';
import type { IceCredentials } from './credentials';
import { candidatesToCheck, pairPriority, pathKind, scopeAllowed, type PathInfo, type ScopeRules } from './pairs';

/**
 * A TURN allocation as the agent uses it (RFC 8656): its relayed address is this side's relay
 * candidate, and what is sent through it leaves the relay server from that address.
 */
export interface RelayBase {
  readonly relayed: Address;
  send(buf: Buffer, to: Address): void;
  /** Asks the relay to let this peer's datagrams through (a permission, a channel) ahead of the first send. */
  permit(peer: Address): void;
  /** The relay server refused to let this peer's address through: checks there are pointless. */
  refused(peer: Address): boolean;
}

/** Where one of this side's pairs sends from: the media socket itself, or the relay. */
export type Base = 'direct' | 'relay';

export interface IceAgentOptions {
  link: UdpLink;
  local: IceCredentials;
  remote: IceCredentials;
  /** The caller controls (nominates); the callee is controlled. */
  controlling: boolean;
  /** This side's candidates as offered: they tell a check's mapped address apart (host, srflx). */
  localCandidates: readonly Candidate[];
  remoteCandidates: readonly Candidate[];
  /**
   * Check the peer's loopback addresses. Off unless this side is itself on loopback (its media
   * socket bound there, or the caller knows the peer is on this machine): otherwise an offer
   * could aim our checks at services on our own machine.
   */
  allowLoopback?: boolean;
  /** Check the peer's link-local addresses; off unless this side has a link-local address. */
  allowLinkLocal?: boolean;
  /** How many of the peer's addresses (offered and trickled) are checked at most, best first; relay addresses count apart. */
  maxCandidates?: number;
  /** Give up when no pair has answered for this long (after start, or after the path was lost). */
  timeoutMs?: number;
  /** The least time between two checks, whichever pair they go to (ICE's Ta). */
  paceMs?: number;
  /** First retransmission of a check on one pair; each further one waits twice as long. */
  initialRtoMs?: number;
  maxRtoMs?: number;
  /** Consent freshness (RFC 7675) on the path in use: a check this often... */
  consentIntervalMs?: number;
  /** ...and the path is dropped when none has been answered for this long. */
  consentTimeoutMs?: number;
  timers?: Timers;
}

export interface IceAgentEvents {
  /** A pair answered both ways and now carries the audio, or another one took over. */
  path: [PathInfo];
  rtt: [number];
  /** The path in use stopped answering: checks run again on every pair. */
  disconnected: [string];
  /** Nothing answered within the timeout; checks have stopped. */
  failed: [string];
}

const DEFAULTS = {
  maxCandidates: 5,
  timeoutMs: 5000,
  paceMs: 50,
  initialRtoMs: 100,
  maxRtoMs: 1600,
  consentIntervalMs: 1000,
  consentTimeoutMs: 3000,
};
/** Addresses learned from the peer's own checks (NAT mappings) beyond those offered, per base. */
const MAX_LEARNED = 2;
/** The peer's relay addresses checked at most, besides `maxCandidates` others: a peer with many interfaces must not crowd out its relay. */
const MAX_REMOTE_RELAYS = 2;
/** Checks awaiting an answer, at most: older ones are forgotten (their answers then ignored). */
const MAX_TRANSACTIONS = 64;
/** Node's timers may fire up to a millisecond before their time by the clock's now(). */
const TIMER_SLACK_MS = 1;

type PairState = 'waiting' | 'in-progress' | 'succeeded' | 'failed';

/** One candidate pair: this socket (or the relay on it) and one address of the peer. */
interface Pair {
  remote: Candidate & { priority: number };
  base: Base;
  key: string;
  state: PairState;
  nextAt: number;
  rtoMs: number;
  giveUpAt: number;
  learned: boolean;
  /** The peer has been heard from here, authenticated (its check, or its answer to ours). */
  proven: boolean;
  validatedAt: number;
  answeredAt: number;
  /** Our end as the peer saw it in its last answer. */
  local: { type: CandidateType; ip: string; port: number } | null;
  /** Controlling: nominate this pair with the next checks. */
  nominating: boolean;
  nominated: boolean;
}

interface Transaction {
  pair: Pair;
  sentAt: number;
  nominate: boolean;
}

type AgentState =
  | { kind: 'idle' }
  | { kind: 'checking'; deadline: number }
  | { kind: 'connected'; path: Pair; why: string; nominated: boolean }
  | { kind: 'failed' }
  | { kind: 'closed' };

/**
 * ICE connectivity checks (RFC 8445) on one socket, within bounds an offer cannot lift: a few
 * of the peer's addresses are checked with STUN Binding requests authenticated by the call's
 * credentials, one check per `paceMs` in all, each pair retried with doubling back-off. A valid
 * check from the peer is answered and triggers a check back to where it came from (learning a
 * peer-reflexive address: how two port-restricted NATs open to each other). A pair whose check
 * was answered is valid; the best valid pair carries the audio, and a better one that answers
 * later takes over. The controlling side nominates the pair it uses (USE-CANDIDATE); the
 * path's consent is refreshed once a second, and a path unanswered for `consentTimeoutMs` sends
 * every pair back to checking; nothing answering within `timeoutMs` fails.
 */
export class IceAgent extends EventEmitter<IceAgentEvents> {
  private state: AgentState = { kind: 'idle' };
  private readonly pairs = new Map<string, Pair>();
  private readonly transactions = new Map<string, Transaction>();
  private readonly opts: typeof DEFAULTS;
  private readonly rules: ScopeRules;
  private readonly timers: Timers;
  private readonly localCandidates: Candidate[];
  private readonly tieBreaker = randomBytes(8).readBigUInt64BE(0);
  private controlling: boolean;
  private timer: TimerHandle | undefined;
  private lastSentAt = -Infinity;
  private relay: RelayBase | null = null;
  rttMs: number | null = null;

  constructor(private readonly o: IceAgentOptions) {
    super();
    const { allowLoopback, allowLinkLocal, timers, link } = o;
    this.opts = { ...DEFAULTS, ...pick(o, Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) };
    this.timers = timers ?? realTimers;
    this.controlling = o.controlling;
    this.localCandidates = [...o.localCandidates];
    const localScope = addressScope(link.host);
    this.rules = {
      allowLoopback: allowLoopback ?? localScope === 'loopback',
      allowLinkLocal: allowLinkLocal ?? (localScope === 'link-local' || hasLinkLocalInterface()),
    };
    for (const c of this.toCheck(o.remoteCandidates)) this.addPair(c, false, 'direct');
  }

  /** The peer's candidates worth checking: the best `maxCandidates` others, and its relays apart. */
  private toCheck(candidates: readonly Candidate[]): (Candidate & { priority: number })[] {
    const rules = { ...this.rules };
    const relays = candidates.filter((c) => c.type === 'relay');
    return [
      ...candidatesToCheck(candidates.filter((c) => c.type !== 'relay'), { ...rules, max: this.opts.maxCandidates }),
      ...candidatesToCheck(relays, { ...rules, max: MAX_REMOTE_RELAYS }),
    ];
  }

  /** The addresses being checked (or checked) from the socket itself, best first. */
  get checked(): Address[] {
    return this.sortedPairs()
      .filter((p) => p.base === 'direct')
      .map((p) => ({ ip: p.remote.ip, port: p.remote.port }));
  }

  get path(): PathInfo | null {
    return this.state.kind === 'connected' ? this.info(this.state.path, this.state.why) : null;
  }

  /** Whether audio has somewhere to go: a path is in use. */
  get ready(): boolean {
    return this.state.kind === 'connected';
  }

  /** Sends a media packet on the path in use, from its base; false when there is none. */
  sendMedia(buf: Buffer): boolean {
    if (this.state.kind !== 'connected') return false;
    const p = this.state.path;
    this.sendFrom(p.base, buf, p.remote);
    return true;
  }

  /**
   * A TURN allocation of this side's: every address of the peer's is paired with it too (at the
   * lowest priority, so the relay carries audio only while no direct pair answers), the relay is
   * asked to let those addresses through, and checks start on the new pairs.
   */
  addRelay(relay: RelayBase): void {
    const s = this.state.kind;
    if (this.relay || s === 'failed' || s === 'closed') return;
    this.relay = relay;
    this.localCandidates.push({ ip: relay.relayed.ip, port: relay.relayed.port, type: 'relay', priority: candidatePriority('relay') });
    const now = this.timers.now();
    for (const p of [...this.pairs.values()]) {
      if (p.base !== 'direct' || p.learned || !this.relayReaches(p.remote)) continue;
      const pair = this.addPair(p.remote, false, 'relay');
      if (s !== 'idle') this.arm(pair, now);
    }
    this.schedule();
  }

  /**
   * Whether a relay out on the internet may reach this address of the peer's: not the host
   * addresses of a peer that offered a reflexive one, which sit behind its NAT. Asking a relay
   * to send there is worse than useless: coturn tears an allocation down when a send to its
   * peer fails (an unreachable network), taking every pair through it along.
   */
  private relayReaches(c: Candidate): boolean {
    return c.type !== 'host' || ![...this.pairs.values()].some((p) => p.remote.type === 'srflx');
  }

  start(): void {
    if (this.state.kind !== 'idle') return;
    this.restart();
  }

  stop(): void {
    this.enter({ kind: 'closed' });
  }

  /** A trickled candidate of the peer's: checked if it is allowed and the limit has room. */
  addRemoteCandidate(c: Candidate): boolean {
    const [ok] = candidatesToCheck([c], { ...this.rules, max: 1 });
    if (!ok || this.pairs.has(pairKey('direct', ok))) return false;
    const offered = [...this.pairs.values()].filter((p) => p.base === 'direct' && !p.learned && (p.remote.type === 'relay') === (ok.type === 'relay')).length;
    if (offered >= (ok.type === 'relay' ? MAX_REMOTE_RELAYS : this.opts.maxCandidates)) return false;
    if (this.state.kind === 'failed' || this.state.kind === 'closed') return false;
    const now = this.timers.now();
    for (const base of this.relay && this.relayReaches(ok) ? (['direct', 'relay'] as const) : (['direct'] as const)) {
      const pair = this.addPair(ok, false, base);
      if (this.state.kind !== 'idle') this.arm(pair, now);
    }
    this.schedule();
    return true;
  }

  /** A candidate of this side's learned later (a new NAT mapping), for telling path types apart. */
  addLocalCandidate(c: Candidate): void {
    this.localCandidates.push(c);
  }

  /** Whether a datagram from `from` (through the relay, or not) may be the peer's: only from addresses it has proven. */
  accepts(from: Address, base: Base = 'direct'): boolean {
    const s = this.state.kind;
    return (s === 'checking' || s === 'connected') && this.pairs.get(pairKey(base, from))?.proven === true;
  }

  /** Handles a STUN datagram from anywhere; false when it was not a valid check or answer of this call. */
  handleStun(buf: Buffer, from: Address, base: Base = 'direct'): boolean {
    const s = this.state.kind;
    if (s !== 'checking' && s !== 'connected') return false;
    if (base === 'relay' && !this.relay) return false;
    const msg = parseStun(buf);
    if (!msg || !msg.hasFingerprint) return false;
    if (msg.type === STUN_BINDING_REQUEST) return this.onRequest(buf, msg, from, base);
    if (msg.type === STUN_BINDING_SUCCESS || msg.type === STUN_BINDING_ERROR) return this.onResponse(buf, msg, from, base);
    return false;
  }

  // ---- checks from the peer -----------------------------------------------------------------

  private onRequest(buf: Buffer, msg: StunMessage, from: Address, base: Base): boolean {
    const { local, remote } = this.o;
    if (msg.username !== `${local.ufrag}:${remote.ufrag}` || msg.priority === undefined) return false;
    if (!verifyIntegrity(buf, msg, Buffer.from(local.pwd))) return false;
    if (this.roleConflict(msg)) {
      this.respond(base, msg, from, { errorCode: 487 });
      return true;
    }
    this.respond(base, msg, from, { xorMappedAddress: { ip: from.ip, port: from.port } });
    const now = this.timers.now();
    let pair = this.pairs.get(pairKey(base, from));
    if (!pair) {
      const learned = [...this.pairs.values()].filter((p) => p.learned && p.base === base).length;
      // A NAT mapping of the peer's (RFC 8445 §7.3.1.3); loopback only reaches us from this machine.
      if (learned >= MAX_LEARNED || addressScope(from.ip) === 'unusable') return true;
      pair = this.addPair({ ip: from.ip, port: from.port, type: 'prflx', priority: msg.priority }, true, base);
    }
    pair.proven = true;
    if (msg.useCandidate && !this.controlling) pair.nominated = true;
    if (pair.state === 'succeeded') this.reselect('it answered both ways');
    else {
      this.arm(pair, now);
      // A triggered check goes at once, ahead of the pace: it answers an authenticated check,
      // so it is no more than the peer's own rate, and both sides then connect within a round trip.
      this.check(pair, now);
    }
    this.schedule();
    return true;
  }

  /** RFC 8445 §7.3.1.1: both sides claim one role; the larger tie-breaker keeps controlling. */
  private roleConflict(msg: StunMessage): boolean {
    if (this.controlling && msg.iceControlling !== undefined) {
      if (this.tieBreaker >= msg.iceControlling) return true;
      this.controlling = false;
    } else if (!this.controlling && msg.iceControlled !== undefined) {
      if (this.tieBreaker < msg.iceControlled) return true;
      this.controlling = true;
    }
    return false;
  }

  private respond(base: Base, req: StunMessage, to: Address, attrs: { xorMappedAddress?: Address; errorCode?: number }): void {
    const type = attrs.errorCode ? STUN_BINDING_ERROR : STUN_BINDING_SUCCESS;
    this.sendFrom(base, encodeStun(type, req.transactionId, attrs, Buffer.from(this.o.local.pwd)), to);
  }

  private sendFrom(base: Base, buf: Buffer, to: Address): void {
    if (base === 'relay') this.relay?.send(buf, to);
    else this.o.link.send(buf, to);
  }

  // ---- answers to our checks ----------------------------------------------------------------

  private onResponse(buf: Buffer, msg: StunMessage, from: Address, base: Base): boolean {
    const id = msg.transactionId.toString('hex');
    const tx = this.transactions.get(id);
    // Only the address the check went to may answer it, by the way it went (RFC 8445 §7.2.5.2.1).
    if (!tx || tx.pair.key !== pairKey(base, from)) return false;
    if (!verifyIntegrity(buf, msg, Buffer.from(this.o.remote.pwd))) return false;
    this.transactions.delete(id);
    const pair = tx.pair;
    const now = this.timers.now();
    pair.proven = true;
    if (msg.type === STUN_BINDING_ERROR) {
      if (msg.errorCode === 487) {
        this.controlling = !this.controlling;
        this.arm(pair, now);
      } else pair.state = 'failed';
      this.schedule();
      return true;
    }
    const rtt = now - tx.sentAt;
    if (rtt >= 0 && rtt <= this.opts.timeoutMs) {
      this.rttMs = rtt;
      this.emit('rtt', rtt);
    }
    const firstAnswer = pair.state !== 'succeeded';
    pair.state = 'succeeded';
    pair.answeredAt = now;
    if (firstAnswer) pair.validatedAt = now;
    pair.local = this.localEnd(msg.xorMappedAddress, pair.base);
    if (tx.nominate) {
      pair.nominated = true;
      pair.nominating = false;
    }
    pair.nextAt = pair.nominating ? now : now + this.opts.consentIntervalMs;
    this.reselect(firstAnswer ? 'it answered both ways' : 'it answers');
    this.schedule();
    return true;
  }

  /** Our end of a pair, from the address the peer saw: one of our own, a NAT's mapping, or the relay. */
  private localEnd(mapped: Address | undefined, base: Base): Pair['local'] {
    if (base === 'relay' && this.relay) return { type: 'relay', ip: this.relay.relayed.ip, port: this.relay.relayed.port };
    if (!mapped) return null;
    const known = this.localCandidates.find((c) => c.ip === mapped.ip && c.port === mapped.port);
    return { type: known?.type ?? 'prflx', ip: mapped.ip, port: mapped.port };
  }

  // ---- which pair carries the audio ---------------------------------------------------------

  /**
   * The best fresh valid pair: highest priority, then the most recently validated (a peer that
   * turned up at a new address of equal standing, as after a NAT rebinding, has moved there).
   */
  private best(now: number): Pair | undefined {
    let best: Pair | undefined;
    for (const p of this.pairs.values()) {
      if (p.state !== 'succeeded' || now - p.answeredAt > this.opts.consentTimeoutMs) continue;
      if (!best || this.compare(p, best) > 0) best = p;
    }
    return best;
  }

  private compare(a: Pair, b: Pair): number {
    const pa = this.priorityOf(a);
    const pb = this.priorityOf(b);
    if (pa !== pb) return pa > pb ? 1 : -1;
    return a.validatedAt - b.validatedAt;
  }

  private reselect(why: string): void {
    const now = this.timers.now();
    const best = this.best(now);
    if (!best) return;
    const s = this.state;
    const current = s.kind === 'connected' ? s.path : undefined;
    if (this.controlling && !best.nominated && !best.nominating) {
      best.nominating = true;
      best.nextAt = now;
      best.rtoMs = this.opts.initialRtoMs;
    }
    if (s.kind === 'connected' && best === current) {
      // The same path, now nominated: say so.
      if (best.nominated !== s.nominated) {
        this.enter({ ...s, nominated: best.nominated });
        this.emit('path', this.info(best, s.why));
      }
      return;
    }
    const reason = (current ? `a better pair answered: ${why}` : why) + (best.base === 'relay' ? '; no direct pair answers' : '');
    this.enter({ kind: 'connected', path: best, why: reason, nominated: best.nominated });
    best.nextAt = Math.min(best.nextAt, now + this.opts.consentIntervalMs);
    this.emit('path', this.info(best, reason));
  }

  private info(p: Pair, why: string): PathInfo {
    const local = this.localEnd(undefined, p.base) ?? p.local ?? { type: 'host' as const, ip: this.o.link.host, port: this.o.link.port };
    return {
      kind: pathKind(local.type, p.remote.type),
      local,
      remote: { type: p.remote.type, ip: p.remote.ip, port: p.remote.port },
      nominated: p.nominated,
      why,
    };
  }

  // ---- the one transition -------------------------------------------------------------------

  private enter(next: AgentState): void {
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.state = next;
    if (next.kind === 'checking' || next.kind === 'connected') this.schedule();
    else this.transactions.clear();
  }

  /** Every pair back to checking, with a fresh deadline: at the start, and when the path is lost. */
  private restart(): void {
    const now = this.timers.now();
    for (const p of this.pairs.values()) {
      p.state = 'waiting';
      p.nominated = false;
      p.nominating = false;
      this.arm(p, now);
    }
    this.enter({ kind: 'checking', deadline: now + this.opts.timeoutMs });
  }

  private addPair(c: Candidate & { priority: number }, learned: boolean, base: Base): Pair {
    const pair: Pair = {
      remote: { ip: c.ip, port: c.port, type: c.type, priority: c.priority },
      base,
      key: pairKey(base, c),
      state: 'waiting',
      nextAt: Infinity,
      rtoMs: this.opts.initialRtoMs,
      giveUpAt: 0,
      learned,
      proven: false,
      validatedAt: 0,
      answeredAt: -Infinity,
      local: null,
      nominating: false,
      nominated: false,
    };
    this.pairs.set(pair.key, pair);
    if (base === 'relay') this.relay?.permit(c);
    return pair;
  }

  /** Checks a pair now and for `timeoutMs` more (a start, a restart, a trickled address, a triggered check). */
  private arm(p: Pair, now: number): void {
    if (p.state !== 'succeeded') p.state = 'in-progress';
    p.nextAt = now;
    p.rtoMs = this.opts.initialRtoMs;
    p.giveUpAt = now + this.opts.timeoutMs;
  }

  private priorityOf(p: Pair): bigint {
    const local = candidatePriority(p.base === 'relay' ? 'relay' : p.local?.type === 'host' || !p.local ? 'host' : 'prflx');
    return this.controlling ? pairPriority(local, p.remote.priority) : pairPriority(p.remote.priority, local);
  }

  private sortedPairs(): Pair[] {
    return [...this.pairs.values()].sort((a, b) => this.compare(b, a));
  }

  // ---- the timer ----------------------------------------------------------------------------

  /** Arms the timer for the next check (no sooner than the pace allows), consent, or the deadline. */
  private schedule(): void {
    const s = this.state;
    if (s.kind !== 'checking' && s.kind !== 'connected') return;
    this.timers.clearTimeout(this.timer);
    let earliest = Infinity;
    for (const p of this.pairs.values()) if (this.due(p)) earliest = Math.min(earliest, p.nextAt);
    let due = Math.max(this.lastSentAt + this.opts.paceMs, earliest);
    if (s.kind === 'checking') due = Math.min(due, s.deadline);
    else due = Math.min(due, s.path.answeredAt + this.opts.consentTimeoutMs);
    if (!Number.isFinite(due)) return;
    this.timer = this.timers.setTimeout(this.onTimer, Math.max(0, Math.ceil(due - this.timers.now())));
    this.timer.unref();
  }

  /** Whether a pair still has checks to send: being checked and within its time, or the path (consent). */
  private due(p: Pair): boolean {
    const s = this.state;
    if (s.kind === 'connected' && s.path === p) return true;
    return p.state === 'in-progress' || (p.state === 'succeeded' && p.nominating);
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    const s = this.state;
    const now = this.timers.now();
    const soon = now + TIMER_SLACK_MS;
    if (s.kind === 'checking' && soon >= s.deadline) {
      const n = this.pairs.size;
      this.enter({ kind: 'failed' });
      const what = n ? `none of ${n} address${n > 1 ? 'es' : ''} answered` : 'it offered no address this side may check';
      this.emit('failed', `no media path to the peer: ${what} within ${this.opts.timeoutMs / 1000} s`);
      return;
    }
    if (s.kind === 'connected' && now - s.path.answeredAt > this.opts.consentTimeoutMs) {
      const why = `the path to ${s.path.key} stopped answering`;
      s.path.state = 'failed';
      const other = this.best(now);
      if (other) this.reselect(`${why}; another pair still answers`);
      else {
        this.restart();
        this.emit('disconnected', why);
      }
      return;
    }
    for (const p of this.pairs.values()) {
      if (p.state === 'in-progress' && soon >= p.giveUpAt) {
        p.state = 'failed';
        p.nextAt = Infinity;
      }
    }
    if (soon >= this.lastSentAt + this.opts.paceMs) {
      let next: Pair | undefined;
      for (const p of this.pairs.values()) if (this.due(p) && p.nextAt <= soon && (!next || p.nextAt < next.nextAt)) next = p;
      if (next) this.check(next, now);
    }
    this.schedule();
  };

  private check(p: Pair, now: number): void {
    if (p.base === 'relay' && this.relay?.refused(p.remote)) {
      p.state = 'failed';
      p.nextAt = Infinity;
      return;
    }
    const s = this.state;
    const consent = s.kind === 'connected' && s.path === p && p.state === 'succeeded' && !p.nominating;
    const id = randomBytes(12);
    const nominate = this.controlling && p.nominating;
    const { local, remote } = this.o;
    const msg = encodeStun(
      STUN_BINDING_REQUEST,
      id,
      {
        username: `${remote.ufrag}:${local.ufrag}`,
        // What the peer would learn us as: a relayed address keeps the relay's low priority.
        priority: candidatePriority(p.base === 'relay' ? 'relay' : 'prflx'),
        useCandidate: nominate || undefined,
        ...(this.controlling ? { iceControlling: this.tieBreaker } : { iceControlled: this.tieBreaker }),
      },
      Buffer.from(remote.pwd),
    );
    this.transactions.set(id.toString('hex'), { pair: p, sentAt: now, nominate });
    if (this.transactions.size > MAX_TRANSACTIONS) this.transactions.delete(this.transactions.keys().next().value as string);
    this.sendFrom(p.base, msg, p.remote);
    this.lastSentAt = now;
    if (consent) p.nextAt = now + this.opts.consentIntervalMs;
    else {
      p.nextAt = now + p.rtoMs;
      p.rtoMs = Math.min(2 * p.rtoMs, this.opts.maxRtoMs);
    }
  }
}

/** Pairs from the socket keep the address as their key; pairs through the relay are told apart. */
function pairKey(base: Base, a: Address): string {
  return base === 'direct' ? addressKey(a) : `relay ${addressKey(a)}`;
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
