import type { EndReason, FailCause, ServerMessage } from '../protocol';
import { nextPhase, type CallEvent, type CallPhase } from './call-state';
import type { Clock, ClockTimer } from './clock';
import { mintId } from './ids';
import type { ServerLimits } from './limits';
import type { Logger } from './logger';
import type { Session } from './registry';
import { rateLimited, type Failure } from './refusals';
import { RingLimits } from './ring-limits';
import type { TurnIssuer } from './turn/issuer';

export type { Failure } from './refusals';

export interface CallRecord {
  readonly id: string;
  readonly caller: Session;
  readonly callee: Session;
  phase: CallPhase;
  timer: ClockTimer | null;
  /** Candidates relayed so far from the caller and from the callee. */
  callerCandidates: number;
  calleeCandidates: number;
}

/** How a callee says no, or a party says the call could not go on. */
export type Ending = { reason: Exclude<EndReason, 'failed'> } | { reason: 'failed'; cause?: FailCause };

/** A relayed message waits this long at most for its receiver to catch up, as far as the sender is told. */
const RELAY_RETRY_MS = 1000;

/**
 * Owns every call between two sessions: who may act on it, its phase, its ring timer, the limits
 * on ringing and relaying, and which message each party receives at each step.
 */
export class CallBroker {
  private readonly calls = new Map<string, CallRecord>();
  readonly ringLimits: RingLimits;

  constructor(
    private readonly opts: {
      ringTimeoutMs: number;
      log: Logger;
      clock: Clock;
      limits: ServerLimits;
      /** Relay credentials for the callee's `incoming`. */
      turn?: TurnIssuer;
      /** Called once when a call ends, however it ends: what hangs off it (relay allocations) goes too. */
      ended?: (callId: string) => void;
      /** Whether a session's connection is gone and its grace runs (it cannot be rung meanwhile). */
      away?: (session: Session) => boolean;
      /** Whether a session is in a room (it can neither place nor take a call meanwhile). */
      inRoom?: (session: Session) => boolean;
    },
  ) {
    this.ringLimits = new RingLimits(opts.limits, opts.clock);
  }

  get size(): number {
    return this.calls.size;
  }

  /** A live call (ringing or active) by id. */
  get(callId: string): CallRecord | undefined {
    return this.calls.get(callId);
  }

  phaseOf(session: Session): CallPhase | null {
    return session.callId ? (this.calls.get(session.callId)?.phase ?? null) : null;
  }

  /** Places a call; the caller's `ringing` reply is sent by the dispatcher with its req. */
  start(caller: Session, callee: Session, offer: Record<string, unknown>): CallRecord | Failure {
    if (caller === callee) return { code: 'self_call', message: 'you cannot call yourself' };
    if (caller.callId) return { code: 'busy', message: 'you are already in a call: hang up or cancel it first' };
    if (callee.callId) return { code: 'busy', message: `${callee.name} is busy in another call` };
    if (this.opts.inRoom?.(caller)) return { code: 'busy', message: 'you are in a room: leave it first' };
    if (this.opts.inRoom?.(callee)) return { code: 'busy', message: `${callee.name} is busy in a room` };
    if (this.opts.away?.(callee)) return { code: 'busy', message: `${callee.name} is reconnecting to the server; try again shortly` };
    const gate = this.relayGate(callee);
    if (gate) return gate;
    const limited = this.ringLimits.ring(caller, callee);
    if (limited) {
      this.opts.log.debug('call refused', { from: caller.name, to: callee.name, reason: 'rate_limited' });
      return limited;
    }
    const call: CallRecord = { id: mintId(), caller, callee, phase: 'ringing', timer: null, callerCandidates: 0, calleeCandidates: 0 };
    call.timer = this.opts.clock.setTimeout(() => this.timeout(call), this.opts.ringTimeoutMs);
    this.calls.set(call.id, call);
    caller.callId = call.id;
    callee.callId = call.id;
    const turn = this.opts.turn?.offer(call.id, callee);
    callee.send(turn ? { type: 'incoming', call: call.id, from: caller.name, offer, turn } : { type: 'incoming', call: call.id, from: caller.name, offer });
    this.opts.log.info('call ringing', { call: short(call.id), from: caller.name, to: callee.name });
    return call;
  }

  answer(session: Session, callId: string, reply: { accept: true; answer: Record<string, unknown> } | ({ accept: false } & Ending)): Failure | null {
    const call = this.partyCall(session, callId);
    if ('code' in call) return call;
    if (session !== call.callee) return { code: 'wrong_state', message: 'only the callee can answer a call' };
    if (reply.accept) {
      const gate = this.relayGate(call.caller);
      if (gate) return gate;
      const f = this.step(call, 'accept');
      if (f) return f;
      this.ringLimits.accepted(call.caller, call.callee);
      call.caller.send({ type: 'accepted', call: call.id, answer: reply.answer });
      this.opts.log.info('call accepted', { call: short(call.id), from: call.caller.name, to: call.callee.name });
      return null;
    }
    const f = this.step(call, 'decline');
    if (f) return f;
    if (reply.reason === 'declined') this.ringLimits.declined(call.caller, call.callee);
    call.caller.send(withCause({ type: 'rejected', call: call.id, reason: reply.reason }, reply));
    this.opts.log.info('call refused', { call: short(call.id), from: call.caller.name, to: call.callee.name, ...outcome(reply) });
    return null;
  }

  cancel(session: Session, callId: string): Failure | null {
    const call = this.partyCall(session, callId);
    if ('code' in call) return call;
    return this.cancelCall(call, session, { reason: 'cancelled' });
  }

  /**
   * Ends a call. While it still rings this cancels it (caller) or declines it (callee); with
   * reason `failed` the other party is told that, and what failed.
   */
  hangup(session: Session, callId: string, how: Ending = { reason: 'hangup' }): Failure | null {
    const call = this.partyCall(session, callId);
    if ('code' in call) return call;
    const failed = how.reason === 'failed';
    if (call.phase === 'ringing') {
      if (session === call.caller) return this.cancelCall(call, session, failed ? how : { reason: 'cancelled' });
      return this.answer(session, callId, failed ? { accept: false, ...how } : { accept: false, reason: 'declined' });
    }
    const f = this.step(call, 'hangup');
    if (f) return f;
    const reason = failed ? how : ({ reason: 'hangup' } as const);
    other(call, session).send(withCause({ type: 'ended', call: call.id, by: session.name, reason: reason.reason }, reason));
    this.opts.log.info('call ended', { call: short(call.id), by: session.name, ...outcome(reason) });
    return null;
  }

  candidate(session: Session, callId: string, candidate: Record<string, unknown>): Failure | null {
    const call = this.partyCall(session, callId);
    if ('code' in call) return call;
    const fromCaller = session === call.caller;
    const sent = fromCaller ? call.callerCandidates : call.calleeCandidates;
    if (sent >= this.opts.limits.candidatesPerCall) {
      return { code: 'rate_limited', message: `at most ${this.opts.limits.candidatesPerCall} candidates per call` };
    }
    const peer = other(call, session);
    const gate = this.relayGate(peer);
    if (gate) return gate;
    if (fromCaller) call.callerCandidates++;
    else call.calleeCandidates++;
    peer.send({ type: 'candidate', call: call.id, from: session.name, candidate });
    return null;
  }

  /** The session disconnected: its call, if any, ends for the other party. */
  gone(session: Session): void {
    const call = session.callId ? this.calls.get(session.callId) : undefined;
    if (!call) return;
    this.step(call, 'gone');
    other(call, session).send({ type: 'ended', call: call.id, by: session.name, reason: 'peer_gone' });
    this.opts.log.info('call ended', { call: short(call.id), by: session.name, reason: 'peer_gone' });
  }

  /**
   * The session's connection dropped and its grace runs. A ringing call ends now (peer_gone: it
   * cannot be answered meanwhile); a live one goes on, its media being peer to peer, and the
   * other party is told `peer_reconnecting`.
   */
  away(session: Session): void {
    const call = session.callId ? this.calls.get(session.callId) : undefined;
    if (!call) return;
    if (call.phase === 'ringing') return this.gone(session);
    other(call, session).send({ type: 'peer_reconnecting', call: call.id, name: session.name });
    this.opts.log.info('call party reconnecting', { call: short(call.id), name: session.name });
  }

  /** The session is back within its grace: the other party of its call is told. */
  back(session: Session): void {
    const call = session.callId ? this.calls.get(session.callId) : undefined;
    if (call?.phase === 'active') other(call, session).send({ type: 'peer_reconnected', call: call.id, name: session.name });
  }

  /** Ends every call at once (server shutdown). */
  clear(): void {
    for (const call of this.calls.values()) this.finish(call);
  }

  private cancelCall(call: CallRecord, caller: Session, how: Ending): Failure | null {
    if (caller !== call.caller) return { code: 'wrong_state', message: 'only the caller can cancel; the callee declines' };
    const f = this.step(call, 'cancel');
    if (f) return f;
    call.callee.send(withCause({ type: 'ended', call: call.id, by: caller.name, reason: how.reason }, how));
    this.opts.log.info('call cancelled', { call: short(call.id), by: caller.name, ...outcome(how) });
    return null;
  }

  private timeout(call: CallRecord): void {
    call.timer = null;
    if (this.step(call, 'timeout')) return;
    call.caller.send({ type: 'ended', call: call.id, reason: 'timeout' });
    call.callee.send({ type: 'ended', call: call.id, reason: 'timeout' });
    this.opts.log.info('call not answered in time', { call: short(call.id), from: call.caller.name, to: call.callee.name, reason: 'timeout' });
  }

  /**
   * A message relayed to `receiver` waits in the server only while the receiver keeps up: past
   * the backlog threshold (well below the slow-consumer cap) the sender is refused instead, so a
   * sender can never get its receiver cut off.
   */
  private relayGate(receiver: Session): Failure | null {
    if (receiver.backlog() <= this.opts.limits.relayBacklogBytes) return null;
    return rateLimited(`${receiver.name} is not reading its messages fast enough`, RELAY_RETRY_MS);
  }

  private partyCall(session: Session, callId: string): CallRecord | Failure {
    const call = this.calls.get(callId);
    if (!call || (call.caller !== session && call.callee !== session)) {
      return { code: 'no_such_call', message: 'no such call, or not a call of yours' };
    }
    return call;
  }

  private step(call: CallRecord, event: CallEvent): Failure | null {
    const next = nextPhase(call.phase, event);
    if (!next) return { code: 'wrong_state', message: `cannot ${event} a call that is ${call.phase}` };
    call.phase = next;
    if (next === 'ended') this.finish(call);
    else if (call.timer && next !== 'ringing') {
      this.opts.clock.clearTimeout(call.timer);
      call.timer = null;
    }
    return null;
  }

  private finish(call: CallRecord): void {
    call.phase = 'ended';
    if (call.timer) this.opts.clock.clearTimeout(call.timer);
    call.timer = null;
    this.calls.delete(call.id);
    if (call.caller.callId === call.id) call.caller.callId = null;
    if (call.callee.callId === call.id) call.callee.callId = null;
    this.opts.ended?.(call.id);
  }
}

/** Adds the failure's cause code, when there is one, to a `rejected` or `ended` message. */
function withCause<M extends Extract<ServerMessage, { type: 'rejected' | 'ended' }>>(msg: M, how: Ending): M {
  if (how.reason === 'failed' && how.cause) msg.cause = how.cause;
  return msg;
}

/** Log fields for how a call ended. */
function outcome(how: Ending): { reason: EndReason; cause?: FailCause } {
  return how.reason === 'failed' && how.cause ? { reason: how.reason, cause: how.cause } : { reason: how.reason };
}

function other(call: CallRecord, session: Session): Session {
  return session === call.caller ? call.callee : call.caller;
}

function short(id: string): string {
  return id.slice(0, 8);
}
