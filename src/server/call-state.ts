/** The life of a brokered call: one union of states, one transition function. */
export type CallPhase = 'ringing' | 'active' | 'ended';

export type CallEvent =
  | 'accept' // the callee said yes
  | 'decline' // the callee said no
  | 'cancel' // the caller gave up before the answer
  | 'timeout' // nobody answered within the ring timeout
  | 'hangup' // either party ended a call
  | 'gone'; // either party disconnected

const TRANSITIONS: Record<CallPhase, Partial<Record<CallEvent, CallPhase>>> = {
  ringing: { accept: 'active', decline: 'ended', cancel: 'ended', timeout: 'ended', hangup: 'ended', gone: 'ended' },
  active: { hangup: 'ended', gone: 'ended' },
  ended: {},
};

/** The next phase, or null when the event is not allowed in this phase. */
export function nextPhase(phase: CallPhase, event: CallEvent): CallPhase | null {
  return TRANSITIONS[phase][event] ?? null;
}
