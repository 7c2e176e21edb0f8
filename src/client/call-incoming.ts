import { EventEmitter } from 'node:events';
import type { ActiveCall } from './call-active';
import type { InputSpec, OutputSpec } from './call-media';
import type { CallEnd } from './call-reasons';

export interface IncomingOwner {
  accept(call: IncomingCall, opts: { input?: InputSpec; output?: OutputSpec }): Promise<ActiveCall>;
  decline(call: IncomingCall): Promise<void>;
  phaseOf(call: IncomingCall): 'ringing' | 'answering' | 'gone';
}

export interface IncomingCallEvents {
  /** The call went away before it was answered: cancelled, timed out, caller gone. */
  ended: [CallEnd];
}

/**
 * A call ringing here. accept() opens the devices first and answers only once they work, so a
 * device problem refuses the call (reason `failed`) instead of leaving the caller with dead air.
 */
export class IncomingCall extends EventEmitter<IncomingCallEvents> {
  constructor(
    readonly id: string,
    readonly from: string,
    private readonly owner: IncomingOwner,
  ) {
    super();
  }

  get phase(): 'ringing' | 'answering' | 'gone' {
    return this.owner.phaseOf(this);
  }

  /** Rejects with CallFailedError when the call is gone or the devices won't open. */
  accept(opts: { input?: InputSpec; output?: OutputSpec } = {}): Promise<ActiveCall> {
    return this.owner.accept(this, opts);
  }

  decline(): Promise<void> {
    return this.owner.decline(this);
  }
}
