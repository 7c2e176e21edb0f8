import type { EndReason, ErrorCode } from '../protocol';
import { nextPhase, type CallEvent, type CallPhase } from './call-state';
import { mintId } from './ids';
import type { Logger } from './logger';
import type { Session } from './registry';

export interface CallRecord {
  readonly id: string;
  readonly caller: Session;
  readonly callee: Session;
  phase: CallPhase;
  timer: NodeJS.Timeout | null;
}

export type Failure = { code: ErrorCode; message: string };

/**
 * Owns every call between two sessions: who may act on it, its phase, its ring timer,
 * and which message each party receives at each step.
 */
export class CallBroker {
  private readonly calls = new Map<string, CallRecord>();

  constructor(private readonly opts: { ringTimeoutMs: number; log: Logger }) {}

  get size(): number {
    return this.calls.size;
  }

  phaseOf(session: Session): CallPhase | null {
    return session.callId ? (this.calls.get(session.callId)?.phase ?? null) : null;
  }

  /** Places a call; the caller's `ringing` reply is sent by the dispatcher with its req. */
  start(caller: Session, callee: Session, offer: Record<string, unknown>): CallRecord | Failure {
    if (caller === callee) return { code: 'self_call', message: 'you cannot call yourself' };
    if (caller.callId) return { code: 'busy', message: 'you are already in a call: hang up or cancel it first' };
    if (callee.callId) return { code: 'busy', message: `${callee.name} is busy in another call` };
    const call: CallRecord = { id: mintId(), caller, callee, phase: 'ringing', timer: null };
    call.timer = setTimeout(() => this.timeout(call), this.opts.ringTimeoutMs);
    this.calls.set(call.id, call);
    caller.callId = call.id;
    callee.callId = call.id;
    callee.send({ type: 'incoming', call: call.id, from: caller.name, offer });
    this.opts.log.info(`call ${short(call.id)}: ${caller.name} → ${callee.name} ringing`);
    return call;
  }

  answer(
    session: Session,
    callId: string,
    reply: { accept: true; answer: Record<string, unknown> } | { accept: false; reason: EndReason },
  ): Failure | null {
    const call = this.partyCall(session, callId);
    if ('code' in call) return call;
    if (session !== call.callee) return { code: 'wrong_state', message: 'only the callee can answer a call' };
    if (reply.accept) {
      const f = this.step(call, 'accept');
      if (f) return f;
      call.caller.send({ type: 'accepted', call: call.id, answer: reply.answer });
      this.opts.log.info(`call ${short(call.id)}: ${call.callee.name} accepted`);
      return null;
    }
    const f = this.step(call, 'decline');
    if (f) return f;
    call.caller.send({ type: 'rejected', call: call.id, reason: reply.reason });
    this.opts.log.info(`call ${short(call.id)}: ${call.callee.name} declined (${reply.reason})`);
    return null;
  }

  cancel(session: Session, callId: string): Failure | null {
    const call = this.partyCall(session, callId);
    if ('code' in call) return call;
    if (session !== call.caller) return { code: 'wrong_state', message: 'only the caller can cancel; the callee declines' };
    const f = this.step(call, 'cancel');
    if (f) return f;
    call.callee.send({ type: 'ended', call: call.id, by: session.name, reason: 'cancelled' });
    this.opts.log.info(`call ${short(call.id)}: cancelled by ${session.name}`);
    return null;
  }

  /** Hanging up a call still ringing cancels it (caller) or declines it (callee). */
  hangup(session: Session, callId: string): Failure | null {
    const call = this.partyCall(session, callId);
    if ('code' in call) return call;
    if (call.phase === 'ringing') {
      return session === call.caller
        ? this.cancel(session, callId)
        : this.answer(session, callId, { accept: false, reason: 'declined' });
    }
    const f = this.step(call, 'hangup');
    if (f) return f;
    other(call, session).send({ type: 'ended', call: call.id, by: session.name, reason: 'hangup' });
    this.opts.log.info(`call ${short(call.id)}: hung up by ${session.name}`);
    return null;
  }

  candidate(session: Session, callId: string, candidate: Record<string, unknown>): Failure | null {
    const call = this.partyCall(session, callId);
    if ('code' in call) return call;
    other(call, session).send({ type: 'candidate', call: call.id, from: session.name, candidate });
    return null;
  }

  /** The session disconnected: its call, if any, ends for the other party. */
  gone(session: Session): void {
    const call = session.callId ? this.calls.get(session.callId) : undefined;
    if (!call) return;
    this.step(call, 'gone');
    other(call, session).send({ type: 'ended', call: call.id, by: session.name, reason: 'peer_gone' });
    this.opts.log.info(`call ${short(call.id)}: ${session.name} disconnected`);
  }

  /** Ends every call at once (server shutdown). */
  clear(): void {
    for (const call of this.calls.values()) this.finish(call);
  }

  private timeout(call: CallRecord): void {
    call.timer = null;
    if (this.step(call, 'timeout')) return;
    call.caller.send({ type: 'ended', call: call.id, reason: 'timeout' });
    call.callee.send({ type: 'ended', call: call.id, reason: 'timeout' });
    this.opts.log.info(`call ${short(call.id)}: ${call.callee.name} did not answer in time`);
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
      clearTimeout(call.timer);
      call.timer = null;
    }
    return null;
  }

  private finish(call: CallRecord): void {
    call.phase = 'ended';
    if (call.timer) clearTimeout(call.timer);
    call.timer = null;
    this.calls.delete(call.id);
    if (call.caller.callId === call.id) call.caller.callId = null;
    if (call.callee.callId === call.id) call.callee.callId = null;
  }
}

function other(call: CallRecord, session: Session): Session {
  return session === call.caller ? call.callee : call.caller;
}

function short(id: string): string {
  return id.slice(0, 8);
}
