import { describeCallFailure, type CallEnd, type CallReasonCode } from './call-reasons';

/** A call that never became active: why, as a coded reason (see call-reasons.ts). */
export class CallFailedError extends Error {
  readonly reason: CallReasonCode;
  readonly end: CallEnd;

  constructor(end: CallEnd, peer?: string) {
    super(end.message && !peer ? end.message : describeCallFailure(peer ?? 'the other side', end));
    this.name = 'CallFailedError';
    this.end = end;
    this.reason = end.reason;
  }
}
