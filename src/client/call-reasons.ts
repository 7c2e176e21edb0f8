/**
 * Why a call did not connect or ended: one table of coded reasons. The screens, the scripted
 * commands' messages and the exit codes are all derived from it, so a reason reads the same
 * everywhere and maps to one exit code.
 */
import { EXIT, type ExitCode } from './exit-codes';

/** What failed, when a call ends with reason `failed` (the wire's `cause`). */
export const FAILURE_CAUSES = ['input_device', 'output_device', 'no_path', 'identity_changed', 'bad_signature'] as const;
export type FailureCause = (typeof FAILURE_CAUSES)[number];

export const CALL_REASONS = [
  'hangup',
  'cancelled',
  'declined',
  'busy',
  'not_found',
  'timeout',
  'incompatible',
  'self_call',
  'failed',
  'peer_gone',
  'disconnected',
  'rate_limited',
  'error',
] as const;
export type CallReasonCode = (typeof CALL_REASONS)[number];

/** How one call went away, from this side's point of view. */
export interface CallEnd {
  reason: CallReasonCode;
  /** This side ended it (hung up, cancelled, declined, or its own device failed). */
  byMe: boolean;
  /** The other party's name, when the server says who ended it. */
  by?: string;
  /** What failed, for reason `failed`. */
  cause?: FailureCause;
  /** One readable line when the code alone does not say it (a device's error, the server's words). */
  message?: string;
  /** The raw account behind `message` (e.g. ALSA's own text), for --verbose. */
  detail?: string;
}

interface ReasonInfo {
  /** Whose doing it is when this side did not cause it. */
  party: 'peer' | 'network' | 'server' | 'user';
  exit: ExitCode;
  /** The call never connected (the caller's words). */
  notConnected(peer: string, end: CallEnd): string;
  /** A connected call ended this way. */
  ended(peer: string, end: CallEnd, length: string): string;
  /** A call ringing here went away before it was answered. */
  missed(from: string, end: CallEnd): string;
}

const CAUSE_WORDS: Record<FailureCause, { mine: (peer: string) => string; theirs: (peer: string) => string }> = {
  input_device: { mine: () => 'your microphone (audio input) failed', theirs: (p) => `${p}'s microphone (audio input) failed` },
  output_device: { mine: () => 'your speaker (audio output) failed', theirs: (p) => `${p}'s speaker (audio output) failed` },
  no_path: { mine: () => 'no network path for the audio', theirs: () => 'no network path for the audio' },
  identity_changed: {
    mine: (p) => `${p}'s identity key is not the one remembered; someone may be in between (if ${p} has a new key, call again with --accept-new-key)`,
    theirs: (p) => `${p} does not know your identity key (${p} may need --accept-new-key)`,
  },
  bad_signature: {
    mine: (p) => `${p}'s media key is not signed by its identity key`,
    theirs: (p) => `${p} could not verify your media key`,
  },
};

function causeWords(peer: string, end: CallEnd): string {
  const words = end.cause ? CAUSE_WORDS[end.cause] : undefined;
  const base = words ? (end.byMe ? words.mine(peer) : words.theirs(peer)) : end.byMe ? 'audio could not start' : `${peer}'s side failed`;
  return end.byMe && end.message ? `${base}: ${end.message}` : base;
}


const TABLE: Record<CallReasonCode, ReasonInfo> = {
  hangup: {
    party: 'peer',
    exit: EXIT.ok,
    notConnected: (p) => `${p} hung up.`,
    ended: (p, e, l) => (e.byMe ? `You hung up. The call with ${p} lasted ${l}.` : `${p} hung up. The call lasted ${l}.`),
    missed: (f) => `${f} hung up before you answered.`,
  },
  cancelled: {
    party: 'peer',
    exit: EXIT.ok,
    notConnected: (p, e) => (e.byMe ? `Call to ${p} cancelled.` : `${p} cancelled the call.`),
    ended: (p, _e, l) => `The call with ${p} was cancelled after ${l}.`,
    missed: (f) => `${f} hung up before you answered.`,
  },
  declined: {
    party: 'peer',
    exit: EXIT.declined,
    notConnected: (p, e) => (e.byMe ? `You declined the call from ${p}.` : `${p} declined the call.`),
    ended: (p, _e, l) => `${p} declined; the call ended after ${l}.`,
    missed: (f) => `You declined the call from ${f}.`,
  },
  busy: {
    party: 'peer',
    exit: EXIT.busy,
    notConnected: (p) => `${p} is busy in another call.`,
    ended: (p, _e, l) => `${p} is busy; the call ended after ${l}.`,
    missed: (f) => `Missed call from ${f} (you were busy).`,
  },
  not_found: {
    party: 'peer',
    exit: EXIT.notFound,
    notConnected: (p) => `${p} is not online.`,
    ended: (p, _e, l) => `${p} is no longer online; the call ended after ${l}.`,
    missed: (f) => `${f} went offline before you answered.`,
  },
  timeout: {
    party: 'peer',
    exit: EXIT.noAnswer,
    notConnected: (p) => `${p} did not answer.`,
    ended: (p, _e, l) => `The call with ${p} timed out after ${l}.`,
    missed: (f) => `Missed call from ${f}.`,
  },
  incompatible: {
    party: 'peer',
    exit: EXIT.incompatible,
    // The message, when there is one, says what did not match (codecs, or no encryption key).
    notConnected: (p, e) => `Could not connect to ${p}: ${e.message ?? 'no codec in common'}.`,
    ended: (p, e, l) => `The call with ${p} ended after ${l}: ${e.message ?? 'no codec in common'}.`,
    missed: (f, e) => `Refused the call from ${f}: ${e.message ?? 'no codec in common'}.`,
  },
  self_call: {
    party: 'user',
    exit: EXIT.failed,
    notConnected: () => 'You cannot call yourself.',
    ended: (_p, _e, l) => `The call ended after ${l}.`,
    missed: () => 'You cannot call yourself.',
  },
  failed: {
    party: 'peer',
    exit: EXIT.failed,
    notConnected: (p, e) => (e.byMe ? `Could not call ${p}: ${causeWords(p, e)}.` : `${p} could not take the call: ${causeWords(p, e)}.`),
    ended: (p, e, l) => `The call with ${p} ended after ${l}: ${causeWords(p, e)}.`,
    missed: (f, e) => (e.byMe ? `Could not answer ${f}: ${causeWords(f, e)}.` : `The call from ${f} failed: ${causeWords(f, e)}.`),
  },
  peer_gone: {
    party: 'network',
    exit: EXIT.connectionLost,
    notConnected: (p) => `${p} went offline.`,
    ended: (p, _e, l) => `${p} went away (connection lost). The call lasted ${l}.`,
    missed: (f) => `${f} went offline before you answered.`,
  },
  disconnected: {
    party: 'server',
    exit: EXIT.connectionLost,
    notConnected: () => 'Lost the connection to the server.',
    ended: (p, _e, l) => `Lost the server; the call with ${p} ended after ${l}.`,
    missed: (f) => `Lost the server while ${f} was calling.`,
  },
  rate_limited: {
    party: 'server',
    exit: EXIT.rateLimited,
    notConnected: (p, e) => `The server refused the call to ${p}${e.message ? `: ${e.message}` : ': too many calls, try again later'}.`,
    ended: (p, _e, l) => `The server ended the call with ${p} after ${l}: too many requests.`,
    missed: (f) => `Refused a call from ${f}: too many calls.`,
  },
  error: {
    party: 'network',
    exit: EXIT.failed,
    notConnected: (p, e) => `The call to ${p} failed${e.message ? `: ${e.message}` : ''}.`,
    ended: (p, e, l) => `The call with ${p} ended after ${l}${e.message ? `: ${e.message}` : ''}.`,
    missed: (f, e) => `The call from ${f} failed${e.message ? `: ${e.message}` : ''}.`,
  },
};

export function isCallReason(code: string): code is CallReasonCode {
  return (CALL_REASONS as readonly string[]).includes(code);
}

/** A reason code from the wire or a library error, `error` when it is none this client knows. */
export function toCallReason(code: string | undefined): CallReasonCode {
  if (code === 'offline') return 'not_found';
  return code && isCallReason(code) ? code : 'error';
}

export function isFailureCause(code: unknown): code is FailureCause {
  return typeof code === 'string' && (FAILURE_CAUSES as readonly string[]).includes(code);
}

/** The exit code of a run that ended this way; a connected call this side ended is a success. */
export function exitCodeFor(end: CallEnd, connected: boolean): ExitCode {
  if (end.reason === 'failed' && end.cause === 'no_path') return EXIT.incompatible;
  if (end.reason === 'failed' && (end.cause === 'identity_changed' || end.cause === 'bad_signature')) return EXIT.identity;
  if (connected && end.byMe && end.reason !== 'failed') return EXIT.ok;
  if (end.byMe && end.reason === 'cancelled') return EXIT.ok;
  return TABLE[end.reason].exit;
}

/** Whose doing the end was: this side's, the other party's, the network's or the server's. */
export function partyOf(end: CallEnd): 'me' | ReasonInfo['party'] {
  return end.byMe ? 'me' : TABLE[end.reason].party;
}

export function describeCallFailure(peer: string, end: CallEnd): string {
  return TABLE[end.reason].notConnected(peer, end);
}

export function describeCallEnd(peer: string, end: CallEnd, seconds: number): string {
  return TABLE[end.reason].ended(peer, end, formatDuration(seconds));
}

export function describeMissedCall(from: string, end: CallEnd): string {
  return TABLE[end.reason].missed(from, end);
}

/** This side's audio failing outside any call (checked before waiting for calls). */
export function describeLocalFailure(end: CallEnd): string {
  const text = causeWords('', { ...end, byMe: true });
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

/** m:ss, or h:mm:ss past an hour. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}
