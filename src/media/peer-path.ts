import { EventEmitter } from 'node:events';
import { realTimers, type TimerHandle, type Timers } from '../audio/timers';
import { decodeProbe, encodeProbe } from '../protocol/rtp';
import { addressKey, addressScope, hasLinkLocalInterface, type Candidate, type CandidateType } from './candidates';
import type { Address, UdpLink } from './udp-link';

export interface PeerPathOptions {
  /**
   * Check the peer's loopback addresses. Off unless this side is itself on loopback (its media
   * socket bound there, or the caller knows the peer is on this machine): otherwise an offer
   * could aim our checks at services on our own machine.
   */
  allowLoopback?: boolean;
  /** Check the peer's link-local addresses; off unless this side has a link-local address. */
  allowLinkLocal?: boolean;
  /** How many of the peer's addresses are checked at most, best first. */
  maxCandidates?: number;
  /** Give up when nothing has answered for this long after start(). */
  timeoutMs?: number;
  /** The least time between two checks, whichever address they go to (ICE's Ta). */
  paceMs?: number;
  /** First retransmission of a check to one address; each further one waits twice as long. */
  initialRtoMs?: number;
  maxRtoMs?: number;
  /** Round-trip probes on the chosen path. */
  probeIntervalMs?: number;
  timers?: Timers;
}

export interface PeerPathEvents {
  /** An address answered a check: media now flows to it. */
  selected: [Address];
  rtt: [number];
  /** Nothing answered within the timeout; checks have stopped. */
  failed: [string];
}

const DEFAULTS = {
  maxCandidates: 5,
  timeoutMs: 5000,
  paceMs: 50,
  initialRtoMs: 100,
  maxRtoMs: 1600,
  probeIntervalMs: 1000,
};
/** Addresses learned from the peer's own checks (NAT mappings, loopback) beyond those offered. */
const MAX_LEARNED = 2;
const TYPE_PREFERENCE: Record<CandidateType, number> = { host: 0, srflx: 1, relay: 2 };
/** Node's timers may fire up to a millisecond before their time by the clock's now(). */
const TIMER_SLACK_MS = 1;

/**
 * The peer's candidates worth checking: usable IPv4 addresses, loopback and link-local only
 * when allowed, each address once, host before server-reflexive before relay (in the peer's
 * order within a type), at most `max`.
 */
export function candidatesToCheck(
  candidates: readonly Candidate[],
  opts: { allowLoopback: boolean; allowLinkLocal: boolean; max: number },
): Candidate[] {
  const seen = new Set<string>();
  const usable = candidates.filter((c) => {
    const scope = addressScope(c.ip);
    const allowed = scope === 'routable' || (scope === 'loopback' && opts.allowLoopback) || (scope === 'link-local' && opts.allowLinkLocal);
    const key = addressKey(c);
    if (!allowed || seen.has(key) || !(c.port >= 1 && c.port <= 65535)) return false;
    seen.add(key);
    return true;
  });
  // Array.prototype.sort is stable: the peer's order stands within a type.
  return usable.sort((a, b) => TYPE_PREFERENCE[a.type] - TYPE_PREFERENCE[b.type]).slice(0, Math.max(0, opts.max));
}

/** One address being checked: when its next check is due and how long the one after waits. */
interface Check {
  address: Address;
  nextAt: number;
  rtoMs: number;
  learned: boolean;
  /** The peer has been heard from here (its ping, or its pong to ours). */
  proven: boolean;
}

type PathState =
  | { kind: 'idle' }
  | { kind: 'checking'; deadline: number }
  | { kind: 'selected'; address: Address }
  | { kind: 'failed' }
  | { kind: 'stopped' };

/**
 * Which address the peer is at, found the way ICE finds it, within bounds an offer cannot
 * lift: a few of the peer's addresses (see candidatesToCheck) get connectivity checks (RTCP
 * pings), one check per `paceMs` in all, each address retried with doubling back-off; a
 * valid ping from the peer (its SSRC) is answered and triggers a check back to where it came
 * from, so the two sides meet within a round trip once both are up. The first address to
 * answer with a pong becomes the path, pinged once a second after that for the round-trip
 * time. Nothing answering within `timeoutMs` ends the checks ('failed'). Only packets from
 * the checked addresses are let through, and once a path is chosen only from addresses the
 * peer has proven: the two sides may settle on different pairs (a socket bound to all
 * interfaces sends from the address facing the destination), and each must still hear the other.
 */
export class PeerPath extends EventEmitter<PeerPathEvents> {
  private state: PathState = { kind: 'idle' };
  private readonly checks = new Map<string, Check>();
  private readonly opts: typeof DEFAULTS;
  private readonly timers: Timers;
  private timer: TimerHandle | undefined;
  private lastSentAt = -Infinity;
  rttMs: number | null = null;

  constructor(
    private readonly link: UdpLink,
    candidates: readonly Candidate[],
    private readonly localSsrc: number,
    private readonly remoteSsrc: number,
    options: PeerPathOptions = {},
  ) {
    super();
    const { allowLoopback, allowLinkLocal, timers, ...tuning } = options;
    this.opts = { ...DEFAULTS, ...definedOnly(tuning) };
    this.timers = timers ?? realTimers;
    const localScope = addressScope(link.host);
    const chosen = candidatesToCheck(candidates, {
      allowLoopback: allowLoopback ?? localScope === 'loopback',
      allowLinkLocal: allowLinkLocal ?? (localScope === 'link-local' || hasLinkLocalInterface()),
      max: this.opts.maxCandidates,
    });
    for (const c of chosen) this.checks.set(addressKey(c), this.newCheck(c, false));
  }

  /** The addresses being checked (or checked), offered ones first. */
  get checked(): Address[] {
    return [...this.checks.values()].map((c) => c.address);
  }

  get address(): Address | null {
    return this.state.kind === 'selected' ? this.state.address : null;
  }

  start(): void {
    if (this.state.kind !== 'idle') return;
    const now = this.timers.now();
    for (const c of this.checks.values()) c.nextAt = now;
    this.enter({ kind: 'checking', deadline: now + this.opts.timeoutMs });
  }

  stop(): void {
    this.enter({ kind: 'stopped' });
  }

  /** Whether a datagram from `from` may be the peer's. */
  accepts(from: Address): boolean {
    const s = this.state;
    if (s.kind === 'selected') return this.checks.get(addressKey(from))?.proven === true;
    return s.kind === 'checking' && this.checks.has(addressKey(from));
  }

  /**
   * Handles an RTCP packet from anywhere; false if it was not a probe of the peer's. A ping
   * carrying the peer's SSRC is answered where it came from (one pong per ping: nothing to
   * amplify); a pong counts only from an address that was pinged.
   */
  handleProbe(buf: Buffer, from: Address): boolean {
    const probe = decodeProbe(buf);
    if (!probe) return false;
    const s = this.state;
    if (s.kind !== 'checking' && s.kind !== 'selected') return false;
    if (probe.kind === 'ping') {
      if (probe.ssrc !== this.remoteSsrc) return false;
      if (s.kind === 'checking') this.triggered(from);
      const check = this.checks.get(addressKey(from));
      // Once a path is chosen, only addresses already known are answered.
      if (!check && s.kind === 'selected') return false;
      if (check) check.proven = true;
      this.link.send(encodeProbe({ kind: 'pong', ssrc: probe.ssrc, sentAt: probe.sentAt }), from);
      return true;
    }
    const check = this.checks.get(addressKey(from));
    if (probe.ssrc !== this.localSsrc || !check) return false;
    check.proven = true;
    const rtt = this.timers.now() - probe.sentAt;
    if (rtt >= 0 && rtt <= this.opts.timeoutMs) {
      this.rttMs = rtt;
      this.emit('rtt', rtt);
    }
    if (s.kind === 'checking') {
      const address = { ip: from.ip, port: from.port };
      this.enter({ kind: 'selected', address });
      this.emit('selected', address);
    }
    return true;
  }

  /** The one transition: leaving a state drops its timer, entering one arms what it needs. */
  private enter(next: PathState): void {
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.state = next;
    if (next.kind === 'checking') this.schedule();
    else if (next.kind === 'selected') this.probe();
  }

  /** A ping from the peer at `from`: check back there now (learning the address if new). */
  private triggered(from: Address): void {
    const key = addressKey(from);
    let check = this.checks.get(key);
    if (!check) {
      const learned = [...this.checks.values()].filter((c) => c.learned).length;
      if (learned >= MAX_LEARNED || addressScope(from.ip) === 'unusable') return;
      check = this.newCheck(from, true);
      this.checks.set(key, check);
    }
    check.nextAt = Math.min(check.nextAt, this.timers.now());
    this.schedule();
  }

  private newCheck(a: Address, learned: boolean): Check {
    return { address: { ip: a.ip, port: a.port }, nextAt: 0, rtoMs: this.opts.initialRtoMs, learned, proven: false };
  }

  /** Arms the timer for the next check (no sooner than the pace allows) or the deadline. */
  private schedule(): void {
    const s = this.state;
    if (s.kind !== 'checking') return;
    this.timers.clearTimeout(this.timer);
    let earliest = Infinity;
    for (const c of this.checks.values()) earliest = Math.min(earliest, c.nextAt);
    const due = Math.min(s.deadline, Math.max(this.lastSentAt + this.opts.paceMs, earliest));
    this.timer = this.timers.setTimeout(this.onCheckTimer, Math.max(0, Math.ceil(due - this.timers.now())));
    this.timer.unref();
  }

  private readonly onCheckTimer = (): void => {
    this.timer = undefined;
    const s = this.state;
    if (s.kind !== 'checking') return;
    const now = this.timers.now();
    const soon = now + TIMER_SLACK_MS;
    if (soon >= s.deadline) {
      const n = this.checks.size;
      this.enter({ kind: 'failed' });
      this.emit('failed', `no media path to the peer: ${n ? `none of ${n} address${n > 1 ? 'es' : ''} answered` : 'it offered no address this side may check'} within ${this.opts.timeoutMs / 1000} s`);
      return;
    }
    if (soon >= this.lastSentAt + this.opts.paceMs) {
      let next: Check | undefined;
      for (const c of this.checks.values()) if (c.nextAt <= soon && (!next || c.nextAt < next.nextAt)) next = c;
      if (next) {
        this.send(next.address);
        this.lastSentAt = now;
        next.nextAt = now + next.rtoMs;
        next.rtoMs = Math.min(2 * next.rtoMs, this.opts.maxRtoMs);
      }
    }
    this.schedule();
  };

  /** A round-trip probe on the chosen path, once a probe interval. */
  private readonly probe = (): void => {
    const s = this.state;
    if (s.kind !== 'selected') return;
    this.send(s.address);
    this.timer = this.timers.setTimeout(this.probe, this.opts.probeIntervalMs);
    this.timer.unref();
  };

  private send(to: Address): void {
    this.link.send(encodeProbe({ kind: 'ping', ssrc: this.localSsrc, sentAt: this.timers.now() }), to);
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
