/**
 * One call's phase as this client sees it. The caller starts at `dialing` (request sent),
 * the callee at `ringing`; `connecting` means answered and media starting.
 */
export type CallPhase = 'dialing' | 'ringing' | 'connecting' | 'active' | 'ended';
export type CallEvent = 'ringing' | 'answered' | 'media_up' | 'end';

export function nextCallPhase(phase: CallPhase, event: CallEvent): CallPhase | null {
  if (phase === 'ended') return null;
  switch (event) {
    case 'ringing':
      return phase === 'dialing' ? 'ringing' : null;
    case 'answered':
      return phase === 'ringing' ? 'connecting' : null;
    case 'media_up':
      return phase === 'connecting' ? 'active' : null;
    case 'end':
      return 'ended';
  }
}

/** Holds a phase and refuses transitions the machine does not allow. */
export class CallStateMachine {
  constructor(private current: CallPhase) {}

  get phase(): CallPhase {
    return this.current;
  }

  /** Applies `event`; false (and no change) when it is not allowed in this phase. */
  apply(event: CallEvent): boolean {
    const next = nextCallPhase(this.current, event);
    if (!next) return false;
    this.current = next;
    return true;
  }
}
