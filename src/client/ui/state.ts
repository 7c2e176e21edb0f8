/**
 * The interactive client as one state machine: every screen is a state, every key press and
 * network happening is an event, and `transition` is the only place that decides what comes
 * next. It is pure: side effects are returned as `Effect`s for the controller to run.
 */
import type { UserInfo } from '../../protocol';
import { EXIT, type ExitCode } from '../exit-codes';
import {
  describeCallEnd,
  describeCallFailure,
  describeMissedCall,
  describeNameRefusal,
} from './messages';

export interface Key {
  /** 'char' for printable text; otherwise enter, backspace, escape, ctrl-c. */
  name: 'char' | 'enter' | 'backspace' | 'escape' | 'ctrl-c';
  text?: string;
}

export interface CallView {
  peer: string;
  codec: string;
  frameMs: number;
  startedAt: number;
}

/** What the call screen shows, sampled from the live call on every tick. */
export interface LiveView {
  now: number;
  inputDb: number;
  outputDb: number;
  rttMs: number | null;
  jitterMs: number;
  lossPct: number;
  bufferMs: number;
  sent: number;
  received: number;
}

export type UiState =
  /** name: what to register as once connected (from --name, or the one accepted before). */
  | { kind: 'connecting'; name?: string; notice?: string }
  | { kind: 'unreachable'; name?: string; notice?: string; message: string }
  | { kind: 'naming'; input: string; error?: string; notice?: string }
  | { kind: 'registering'; name: string; fromFlag: boolean }
  | { kind: 'menu'; name: string; notice?: string; users?: UserInfo[] }
  | { kind: 'lookup'; name: string; input: string }
  | { kind: 'waiting'; name: string; what: 'list' | 'lookup'; target?: string }
  | { kind: 'calling'; name: string; to: string; cancelling: boolean; quitAfter: boolean }
  | { kind: 'incoming'; name: string; from: string; id: string }
  | { kind: 'answering'; name: string; from: string }
  | { kind: 'in-call'; name: string; call: CallView; muted: boolean; help: boolean; live?: LiveView }
  | { kind: 'hanging-up'; name: string; peer: string; quitAfter: boolean }
  | { kind: 'quitting'; message?: string };

export type UiEvent =
  | { type: 'key'; key: Key }
  | { type: 'connected' }
  | { type: 'connect-failed'; message: string }
  | { type: 'registered'; name: string }
  | { type: 'register-failed'; name: string; code: string; message: string }
  | { type: 'users'; users: UserInfo[] }
  | { type: 'request-failed'; code: string; message: string }
  | { type: 'found'; user: UserInfo }
  | { type: 'call-connected'; call: CallView }
  | { type: 'call-failed'; reason: string; message: string }
  | { type: 'incoming'; from: string; id: string }
  | { type: 'incoming-gone'; id: string; reason: string }
  | { type: 'call-ended'; reason: string; byMe: boolean; now: number }
  | { type: 'disconnected'; reason: string }
  | { type: 'tick'; live: LiveView }
  /** Something worth telling a person at the menu, e.g. a call refused for want of a common codec. */
  | { type: 'notice'; text: string }
  /** Standard input ended, the terminal went away, or a signal asked us to stop. */
  | { type: 'shutdown' };

export type Effect =
  | { do: 'connect' }
  | { do: 'register'; name: string }
  | { do: 'list' }
  | { do: 'lookup'; target: string }
  | { do: 'call'; to: string }
  | { do: 'cancel' }
  | { do: 'accept'; id: string }
  | { do: 'decline'; id: string; reason: 'declined' | 'busy' }
  | { do: 'hangup' }
  | { do: 'mute'; muted: boolean }
  | { do: 'exit'; code: ExitCode };

export interface UiConfig {
  hangupKey: string;
}

export interface Step {
  state: UiState;
  effects: Effect[];
}

const stay = (state: UiState): Step => ({ state, effects: [] });
const go = (state: UiState, ...effects: Effect[]): Step => ({ state, effects });

/** The first state: connect, then register `name` or ask for one. */
export function initial(name?: string): Step {
  return go({ kind: 'connecting', name }, { do: 'connect' });
}

const quit = (code: ExitCode = EXIT.ok, message?: string): Step => go({ kind: 'quitting', message }, { do: 'exit', code });

export function transition(s: UiState, e: UiEvent, cfg: UiConfig): Step {
  // Events that mean the same thing on every screen.
  if (e.type === 'shutdown') return shutdown(s);
  if (e.type === 'disconnected' && s.kind !== 'connecting' && s.kind !== 'unreachable' && s.kind !== 'quitting') {
    return go({ kind: 'connecting', name: registeredName(s), notice: `Lost the connection to the server (${e.reason}).` }, { do: 'connect' });
  }
  if (e.type === 'incoming') {
    if (s.kind === 'menu' || s.kind === 'lookup') return stay({ kind: 'incoming', name: s.name, from: e.from, id: e.id });
    return go(s, { do: 'decline', id: e.id, reason: 'busy' });
  }
  if (e.type === 'key' && e.key.name === 'ctrl-c') return shutdown(s);

  switch (s.kind) {
    case 'connecting':
      if (e.type === 'connected') {
        return s.name
          ? go({ kind: 'registering', name: s.name, fromFlag: true }, { do: 'register', name: s.name })
          : stay({ kind: 'naming', input: '', notice: s.notice });
      }
      if (e.type === 'connect-failed') return stay({ kind: 'unreachable', name: s.name, notice: s.notice, message: e.message });
      return stay(s);

    case 'unreachable':
      if (e.type !== 'key') return stay(s);
      if (isKey(e.key, 'r', 'R') || e.key.name === 'enter') return go({ kind: 'connecting', name: s.name }, { do: 'connect' });
      if (isKey(e.key, 'q', 'Q', '0') || e.key.name === 'escape') return quit(EXIT.unreachable);
      return stay(s);

    case 'naming':
      if (e.type !== 'key') return stay(s);
      if (e.key.name === 'enter') {
        const name = s.input.trim();
        if (!name) return stay({ ...s, error: 'Type a name first.' });
        return go({ kind: 'registering', name, fromFlag: false }, { do: 'register', name });
      }
      return stay({ ...s, input: edit(s.input, e.key) });

    case 'registering':
      if (e.type === 'registered') return stay({ kind: 'menu', name: e.name, notice: `Registered as ${e.name}.` });
      if (e.type === 'register-failed') {
        return stay({ kind: 'naming', input: '', error: describeNameRefusal(e.code, e.name, e.message) });
      }
      return stay(s);

    case 'menu':
      if (e.type === 'notice') return stay({ ...s, notice: e.text });
      if (e.type !== 'key') return stay(s);
      if (isKey(e.key, '1')) return stay({ kind: 'lookup', name: s.name, input: '' });
      if (isKey(e.key, '2')) return go({ kind: 'waiting', name: s.name, what: 'list' }, { do: 'list' });
      if (isKey(e.key, '0', 'q')) return quit();
      return stay(s);

    case 'lookup':
      if (e.type !== 'key') return stay(s);
      if (e.key.name === 'escape') return stay({ kind: 'menu', name: s.name });
      if (e.key.name === 'enter') {
        const target = s.input.trim();
        if (!target) return stay({ kind: 'menu', name: s.name });
        return go({ kind: 'waiting', name: s.name, what: 'lookup', target }, { do: 'lookup', target });
      }
      return stay({ ...s, input: edit(s.input, e.key) });

    case 'waiting':
      if (e.type === 'users') return stay({ kind: 'menu', name: s.name, users: e.users });
      if (e.type === 'found') {
        if (e.user.name.toLowerCase() === s.name.toLowerCase()) {
          return stay({ kind: 'menu', name: s.name, notice: describeCallFailure('self_call', e.user.name) });
        }
        return go({ kind: 'calling', name: s.name, to: e.user.name, cancelling: false, quitAfter: false }, { do: 'call', to: e.user.name });
      }
      if (e.type === 'request-failed') {
        const notice = e.code === 'not_found' && s.target ? `No one called "${s.target}" is online.` : e.message;
        return stay({ kind: 'menu', name: s.name, notice });
      }
      return stay(s);

    case 'calling':
      if (e.type === 'call-connected') {
        return s.quitAfter || s.cancelling
          ? go({ kind: 'hanging-up', name: s.name, peer: s.to, quitAfter: s.quitAfter }, { do: 'hangup' })
          : stay({ kind: 'in-call', name: s.name, call: e.call, muted: false, help: false });
      }
      if (e.type === 'call-failed') {
        if (s.quitAfter) return quit();
        return stay({ kind: 'menu', name: s.name, notice: describeCallFailure(e.reason, s.to, e.message) });
      }
      if (e.type === 'key' && !s.cancelling && (e.key.name === 'escape' || isKey(e.key, cfg.hangupKey))) {
        return go({ ...s, cancelling: true }, { do: 'cancel' });
      }
      return stay(s);

    case 'incoming':
      if (e.type === 'incoming-gone' && e.id === s.id) {
        return stay({ kind: 'menu', name: s.name, notice: describeMissedCall(s.from, e.reason) });
      }
      if (e.type !== 'key') return stay(s);
      if (isKey(e.key, 'y', 'Y')) return go({ kind: 'answering', name: s.name, from: s.from }, { do: 'accept', id: s.id });
      if (isKey(e.key, 'n', 'N') || e.key.name === 'escape') {
        return go({ kind: 'menu', name: s.name, notice: `You declined the call from ${s.from}.` }, { do: 'decline', id: s.id, reason: 'declined' });
      }
      return stay(s);

    case 'answering':
      if (e.type === 'call-connected') return stay({ kind: 'in-call', name: s.name, call: e.call, muted: false, help: false });
      if (e.type === 'call-failed') return stay({ kind: 'menu', name: s.name, notice: describeCallFailure(e.reason, s.from, e.message) });
      return stay(s);

    case 'in-call':
      if (e.type === 'tick') return stay({ ...s, live: e.live });
      if (e.type === 'call-ended') {
        const seconds = (e.now - s.call.startedAt) / 1000;
        return stay({ kind: 'menu', name: s.name, notice: describeCallEnd(s.call.peer, e.reason, e.byMe, seconds) });
      }
      if (e.type !== 'key') return stay(s);
      if (isKey(e.key, cfg.hangupKey)) return go({ kind: 'hanging-up', name: s.name, peer: s.call.peer, quitAfter: false }, { do: 'hangup' });
      if (isKey(e.key, '0')) return go({ kind: 'hanging-up', name: s.name, peer: s.call.peer, quitAfter: true }, { do: 'hangup' });
      if (isKey(e.key, 'm', 'M')) return go({ ...s, muted: !s.muted }, { do: 'mute', muted: !s.muted });
      if (isKey(e.key, '?')) return stay({ ...s, help: !s.help });
      return stay(s);

    case 'hanging-up':
      if (e.type === 'call-ended') {
        return s.quitAfter ? quit() : stay({ kind: 'menu', name: s.name, notice: `You hung up on ${s.peer}.` });
      }
      return stay(s);

    case 'quitting':
      return stay(s);
  }
}

/** Leaving from wherever we are: end what is in progress first, then exit. */
function shutdown(s: UiState): Step {
  switch (s.kind) {
    case 'in-call':
      return go({ kind: 'hanging-up', name: s.name, peer: s.call.peer, quitAfter: true }, { do: 'hangup' });
    case 'calling':
      return s.quitAfter ? stay(s) : go({ ...s, cancelling: true, quitAfter: true }, { do: 'cancel' });
    case 'incoming':
      return go({ kind: 'quitting' }, { do: 'decline', id: s.id, reason: 'declined' }, { do: 'exit', code: EXIT.ok });
    case 'hanging-up':
      return stay({ ...s, quitAfter: true });
    case 'quitting':
      return stay(s);
    case 'unreachable':
      return quit(EXIT.unreachable);
    default:
      return quit();
  }
}

/** The name to register again after a reconnect: one the server accepted, or the one given by --name. */
function registeredName(s: UiState): string | undefined {
  if (s.kind === 'registering') return s.fromFlag ? s.name : undefined;
  return 'name' in s ? s.name : undefined;
}

function isKey(key: Key, ...texts: string[]): boolean {
  return key.name === 'char' && key.text !== undefined && texts.includes(key.text);
}

/** Line editing for the two text prompts. */
function edit(input: string, key: Key): string {
  if (key.name === 'backspace') return input.slice(0, -1);
  if (key.name === 'char' && key.text && input.length < 64) return input + key.text;
  return input;
}
