import { EventEmitter } from 'node:events';
import type { ActiveCall } from './call-active';
import { CallFailedError } from './call-errors';
import type { CallEnd } from './call-reasons';

/** What a call handle asks of the phone that owns the call. */
export interface OutgoingOwner {
  idOf(call: OutgoingCall): string | undefined;
  cancel(call: OutgoingCall): Promise<void>;
}

export interface OutgoingCallEvents {
  /** The server says the other side is ringing. */
  ringing: [{ call: string }];
}

/**
 * A call being placed, as its caller holds it: `result` settles once, with the ActiveCall or a
 * CallFailedError saying why not. The phone owns the call's state; this is a view of it.
 */
export class OutgoingCall extends EventEmitter<OutgoingCallEvents> {
  readonly result: Promise<ActiveCall>;
  private resolve!: (c: ActiveCall) => void;
  private reject!: (e: Error) => void;

  constructor(
    readonly to: string,
    private readonly owner: OutgoingOwner,
  ) {
    super();
    this.result = new Promise<ActiveCall>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    // A caller that never awaits `result` must not get an unhandled rejection.
    this.result.catch(() => undefined);
  }

  get id(): string | undefined {
    return this.owner.idOf(this);
  }

  /** Gives up on the call at once; `result` rejects with reason 'cancelled'. */
  cancel(): Promise<void> {
    return this.owner.cancel(this);
  }

  /** @internal The phone settles the handle when the call connects or fails. */
  settle(outcome: { call: ActiveCall } | { end: CallEnd }): void {
    if ('call' in outcome) this.resolve(outcome.call);
    else this.reject(new CallFailedError(outcome.end, this.to));
  }
}
