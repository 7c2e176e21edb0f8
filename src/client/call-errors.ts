/** Why a call never became active. Signaling codes pass through as they are. */
export type CallFailReason =
  | 'declined'
  | 'busy'
  | 'not_found'
  | 'timeout'
  | 'incompatible'
  | 'cancelled'
  | 'self_call'
  | 'peer_gone'
  | 'device'
  | 'no_media'
  | 'disconnected'
  | (string & {});

const DESCRIPTIONS: Record<string, string> = {
  declined: 'declined the call',
  busy: 'is busy',
  not_found: 'is not online',
  timeout: 'did not answer',
  incompatible: 'has no codec in common with you',
  cancelled: 'call cancelled',
  self_call: 'you cannot call yourself',
  peer_gone: 'went offline',
  disconnected: 'lost the connection to the server',
};

export class CallFailedError extends Error {
  constructor(
    readonly reason: CallFailReason,
    message?: string,
  ) {
    super(message ?? DESCRIPTIONS[reason] ?? reason);
    this.name = 'CallFailedError';
  }

  static describe(peer: string, reason: CallFailReason): string {
    const d = DESCRIPTIONS[reason];
    if (!d) return `call to ${peer} failed: ${reason}`;
    return reason === 'cancelled' || reason === 'self_call' || reason === 'disconnected' ? d : `${peer} ${d}`;
  }
}
