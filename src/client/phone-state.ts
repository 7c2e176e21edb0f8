/**
 * A phone's one call, as states that carry what they hold: the dialed call's devices and
 * offer, the ringing call's negotiated plan, the live call. The Phone changes state in one
 * setter, which releases whatever the old state held and the new one does not.
 */
import type { TurnOffer } from '../protocol';
import type { MediaSession } from '../media/media-session';
import type { AnswerResult, Offer } from '../media/negotiation';
import type { CallSecurity } from '../media/crypto/call-security';
import type { ActiveCall } from './call-active';
import type { IncomingCall } from './call-incoming';
import type { PreparedMedia } from './call-media';
import type { CallEnd } from './call-reasons';
import type { OutgoingCall } from './call-outgoing';

export interface Dial {
  readonly handle: OutgoingCall;
  readonly to: string;
  /**
   * preparing: opening the devices and the socket; requesting: the call request is on its way;
   * ringing: the server says the other side is ringing.
   */
  readonly stage: 'preparing' | 'requesting' | 'ringing';
  /** Known once the server answers the call request. */
  readonly id?: string;
  readonly media?: PreparedMedia;
  readonly offer?: Offer;
  /** The call's ephemeral key, whose public half is in the offer. */
  readonly security?: CallSecurity;
  /** This client's own ring timeout, when it has one. */
  readonly ringTimer?: NodeJS.Timeout;
}

export interface Ring {
  readonly handle: IncomingCall;
  readonly id: string;
  readonly from: string;
  /** The offer negotiated once, when it arrived; accepting fills in this side's address and SSRC. */
  readonly plan: Extract<AnswerResult, { ok: true }>;
  /** The relay the server offered for this call, if any. */
  readonly turn?: TurnOffer;
}

export interface Connect {
  readonly id: string;
  readonly peer: string;
  readonly direction: 'outgoing' | 'incoming';
  /** The caller's handle, settled once the media is up (outgoing calls only). */
  readonly handle?: OutgoingCall;
  /** Absent while an incoming call's devices are still being opened. */
  readonly media?: PreparedMedia;
  /** The media session, once started: checks run until a pair answers both ways. */
  readonly session?: MediaSession;
}

export type PhoneState =
  /** `ended`: how the last call went, when there was one. */
  | { status: 'idle'; ended?: { id?: string; peer: string; end: CallEnd } }
  | { status: 'dialing'; call: Dial }
  | { status: 'ringing'; call: Ring }
  | { status: 'connecting'; call: Connect }
  | { status: 'active'; call: ActiveCall }
  | { status: 'closed' };

export type PhoneStatus = PhoneState['status'];

/** Which status may follow which; anything else is a bug, not a user error. */
const NEXT: Record<PhoneStatus, readonly PhoneStatus[]> = {
  idle: ['dialing', 'ringing', 'closed'],
  dialing: ['dialing', 'connecting', 'idle', 'closed'],
  ringing: ['connecting', 'idle', 'closed'],
  connecting: ['connecting', 'active', 'idle', 'closed'],
  active: ['idle', 'closed'],
  closed: [],
};

export function canMove(from: PhoneStatus, to: PhoneStatus): boolean {
  return NEXT[from].includes(to);
}

/** The devices and socket a state holds, if any. */
export function mediaOf(state: PhoneState): PreparedMedia | undefined {
  return state.status === 'dialing' || state.status === 'connecting' ? state.call.media : undefined;
}

/** The media session a connecting call runs, until it becomes an ActiveCall's. */
export function sessionOf(state: PhoneState): MediaSession | undefined {
  return state.status === 'connecting' ? state.call.session : undefined;
}

export function ringTimerOf(state: PhoneState): NodeJS.Timeout | undefined {
  return state.status === 'dialing' ? state.call.ringTimer : undefined;
}

/** The call id a state is about, once the server has minted one. */
export function callIdOf(state: PhoneState): string | undefined {
  switch (state.status) {
    case 'dialing':
    case 'ringing':
    case 'connecting':
    case 'active':
      return state.call.id;
    default:
      return undefined;
  }
}
