/**
 * The interactive client as one state machine: every screen is a state, every key press and
 * network happening is an event, and `transition` is the only place that decides what comes
 * next. It is pure: side effects are returned as `Effect`s for the controller to run.
 */
import { UNENCRYPTED_NOTE } from '../commands/session';
import type { UserInfo } from '../../protocol';
import type { CallEnd } from '../call-reasons';
import { EXIT, type ExitCode } from '../exit-codes';
import { qualityLine, type CallView, type LiveView } from '../views/call-view';
import type { DeviceChoices } from '../views/device-choices';
import { describeCallEnd, describeCallFailure, describeMissedCall, describeNameRefusal } from '../views/messages';
import { describeHappening, describeRoomRefusal, type RoomHappening, type RoomView } from '../views/room-view';
import { actionFor, keysFor, type Binding, type Key, type KeyConfig } from './keys';

export type { CallView, LiveView, Key, RoomHappening, RoomView };

/** How many of the room's happenings its screen keeps. */
export const ROOM_LINES = 6;

/** A call that arrived while a name was being typed: asked about once the typing is done. */
export interface Waiting {
  from: string;
  id: string;
}

/**
 * A name is asked for before connecting: the server closes a connection that has not registered
 * within a few seconds, and a person may take longer than that to choose one.
 */
export type UiState =
  /** name: what to register as once connected (typed, from --name, or the one accepted before). */
  | { kind: 'connecting'; name: string; notice?: string }
  | { kind: 'unreachable'; name: string; notice?: string; message: string }
  | { kind: 'naming'; input: string; error?: string; notice?: string }
  | { kind: 'registering'; name: string }
  | { kind: 'menu'; name: string; notice?: string; users?: UserInfo[] }
  | { kind: 'lookup'; name: string; input: string; caller?: Waiting }
  | { kind: 'waiting'; name: string; what: 'list' | 'lookup'; target?: string }
  /** Typing a room's id: optional to create (the server mints one), required to join. */
  | { kind: 'room-id'; name: string; how: 'create' | 'join'; input: string; error?: string; caller?: Waiting }
  | { kind: 'entering'; name: string; how: 'create' | 'join'; room?: string }
  /**
   * muted, mutedHere: the microphone and the members muted on this side, kept here because the
   * room's media comes and goes (none before it starts, a new one when the terms change, a
   * member heard only once its key arrives): whenever the media differs, it is told again.
   */
  | { kind: 'in-room'; name: string; room: RoomView; muted: boolean; mutedHere: string[]; help: boolean; lines: string[]; notice?: string }
  | { kind: 'leaving-room'; name: string; room: string; quitAfter: boolean }
  /** Picking the microphone, then the speaker, by number; `picked` is the microphone chosen. */
  | { kind: 'devices'; name: string; choices?: DeviceChoices; input: string; picked?: string; error?: string }
  /** warning: the peer's identity key changed (said before any audio; refused unless --accept-new-key). */
  | { kind: 'calling'; name: string; to: string; cancelling: boolean; quitAfter: boolean; warning?: string }
  /** then: a lookup the person had typed before the call arrived, run if they decline. */
  | { kind: 'incoming'; name: string; from: string; id: string; then?: string }
  | { kind: 'answering'; name: string; from: string }
  /** device: the last device change; warning: an identity warning carried from before the call; server: the server going away or coming back (the call goes on); all said on the call screen. */
  | { kind: 'in-call'; name: string; call: CallView; muted: boolean; help: boolean; live?: LiveView; device?: string; warning?: string; server?: string }
  | { kind: 'hanging-up'; name: string; peer: string; quitAfter: boolean }
  | { kind: 'quitting'; message?: string };

export type UiEvent =
  | { type: 'key'; key: Key }
  | { type: 'connected' }
  | { type: 'connect-failed'; message: string }
  /** secure: false when signaling is plaintext (said with the registration). */
  | { type: 'registered'; name: string; secure?: boolean }
  | { type: 'register-failed'; name: string; code: string; message: string }
  | { type: 'users'; users: UserInfo[] }
  | { type: 'request-failed'; code: string; message: string }
  | { type: 'found'; user: UserInfo }
  | { type: 'devices'; choices: DeviceChoices }
  | { type: 'devices-failed'; message: string }
  | { type: 'call-connected'; call: CallView }
  /** A call placed or being answered never connected. */
  | { type: 'call-failed'; end: CallEnd }
  | { type: 'incoming'; from: string; id: string }
  | { type: 'incoming-gone'; id: string; end: CallEnd }
  | { type: 'call-ended'; end: CallEnd; now: number }
  | { type: 'disconnected'; reason: string }
  | { type: 'tick'; live: LiveView }
  /** A device failed during the call and playback or capture moved: what to tell the person. */
  | { type: 'device'; text: string }
  /** Something worth telling a person at the menu, e.g. a call refused for want of a common codec. */
  | { type: 'notice'; text: string }
  /** created: this client made the room (joining one there was not makes it too). */
  | { type: 'room-entered'; room: RoomView; created: boolean }
  | { type: 'room-failed'; code: string; message: string }
  /** Something happened in the room; `room` is how it stands now. */
  | { type: 'room-event'; happening: RoomHappening; room: RoomView }
  | { type: 'room-tick'; room: RoomView }
  | { type: 'room-ended'; reason: 'left' | 'disconnected' | 'failed'; message?: string }
  /** Standard input ended, the terminal went away, or a signal asked us to stop. */
  | { type: 'shutdown' };

export type Effect =
  | { do: 'connect' }
  | { do: 'disconnect' }
  | { do: 'register'; name: string }
  | { do: 'list' }
  | { do: 'lookup'; target: string }
  | { do: 'list-devices' }
  /** The microphone and speaker specs for the calls from now on. */
  | { do: 'use-devices'; input: string; output: string }
  | { do: 'call'; to: string }
  | { do: 'cancel' }
  | { do: 'accept'; id: string }
  | { do: 'decline'; id: string }
  | { do: 'hangup' }
  /** Mutes or unmutes the microphone, in the call or the room. */
  | { do: 'mute'; muted: boolean }
  | { do: 'room-enter'; how: 'create' | 'join'; room?: string }
  | { do: 'room-start' }
  | { do: 'room-leave' }
  | { do: 'room-mute-member'; member: string; muted: boolean }
  | { do: 'exit'; code: ExitCode };

export type UiConfig = KeyConfig;

export interface Step {
  state: UiState;
  effects: Effect[];
}

const stay = (state: UiState): Step => ({ state, effects: [] });
const go = (state: UiState, ...effects: Effect[]): Step => ({ state, effects });

/** The first state: with a name, connect and register it; without, ask for one first. */
export function initial(name?: string): Step {
  return name ? go({ kind: 'connecting', name }, { do: 'connect' }) : stay({ kind: 'naming', input: '' });
}

const quit = (code: ExitCode = EXIT.ok, message?: string): Step => go({ kind: 'quitting', message }, { do: 'exit', code });

export function transition(s: UiState, e: UiEvent, cfg: UiConfig): Step {
  // Events that mean the same thing on every screen.
  if (e.type === 'shutdown' || (e.type === 'key' && e.key.name === 'ctrl-c')) return shutdown(s);
  if (e.type === 'disconnected' && s.kind !== 'connecting' && s.kind !== 'unreachable' && s.kind !== 'quitting' && s.kind !== 'naming') {
    const notice = `Lost the connection to the server (${e.reason}).`;
    const name = registeredName(s);
    return name ? go({ kind: 'connecting', name, notice }, { do: 'connect' }) : stay({ kind: 'naming', input: '', notice });
  }
  if (e.type === 'incoming') {
    // A device choice half made is dropped: the call matters more.
    if (s.kind === 'menu' || s.kind === 'devices') return stay({ kind: 'incoming', name: s.name, from: e.from, id: e.id });
    // Keys being typed are never taken as an answer: the call waits until the typing is done.
    if ((s.kind === 'lookup' || s.kind === 'room-id') && !s.caller) return stay({ ...s, caller: { from: e.from, id: e.id } });
    return go(s, { do: 'decline', id: e.id });
  }
  const action = e.type === 'key' && isScreen(s.kind) ? actionFor(keysFor(cfg), s.kind, e.key) : undefined;

  switch (s.kind) {
    case 'connecting':
      if (e.type === 'connected') return go({ kind: 'registering', name: s.name }, { do: 'register', name: s.name });
      if (e.type === 'connect-failed') return stay({ kind: 'unreachable', name: s.name, notice: s.notice, message: e.message });
      return stay(s);

    case 'unreachable':
      if (action === 'retry') return go({ kind: 'connecting', name: s.name }, { do: 'connect' });
      if (action === 'quit') return quit(EXIT.unreachable);
      return stay(s);

    case 'naming':
      if (e.type !== 'key') return stay(s);
      if (action === 'submit') {
        const name = s.input.trim();
        if (!name) return stay({ ...s, error: 'Type a name first.' });
        return go({ kind: 'connecting', name, notice: s.notice }, { do: 'connect' });
      }
      return stay({ ...s, input: edit(s.input, e.key) });

    case 'registering':
      if (e.type === 'registered') {
        return stay({ kind: 'menu', name: e.name, notice: `Registered as ${e.name}.${e.secure === false ? `\n${capitalized(UNENCRYPTED_NOTE)}.` : ''}` });
      }
      if (e.type === 'register-failed') {
        return go({ kind: 'naming', input: '', error: describeNameRefusal(e.code, e.name, e.message) }, { do: 'disconnect' });
      }
      return stay(s);

    case 'menu':
      if (e.type === 'notice') return stay({ ...s, notice: e.text });
      if (action === 'lookup') return stay({ kind: 'lookup', name: s.name, input: '' });
      if (action === 'list') return go({ kind: 'waiting', name: s.name, what: 'list' }, { do: 'list' });
      if (action === 'devices') return go({ kind: 'devices', name: s.name, input: '' }, { do: 'list-devices' });
      if (action === 'create-room' || action === 'join-room') return stay({ kind: 'room-id', name: s.name, how: action === 'create-room' ? 'create' : 'join', input: '' });
      if (action === 'quit') return quit();
      return stay(s);

    case 'room-id': {
      if (e.type === 'incoming-gone' && s.caller?.id === e.id) return stay({ ...s, caller: undefined });
      if (e.type !== 'key') return stay(s);
      // A call that came while typing is asked about first; the id is typed again after.
      if ((action === 'submit' || action === 'back') && s.caller) return stay({ kind: 'incoming', name: s.name, ...s.caller });
      if (action === 'back') return stay({ kind: 'menu', name: s.name });
      if (action === 'submit') {
        const room = s.input.trim() || undefined;
        if (!room && s.how === 'join') return stay({ ...s, error: "Type the room's id." });
        return go({ kind: 'entering', name: s.name, how: s.how, room }, { do: 'room-enter', how: s.how, room });
      }
      return stay({ ...s, input: edit(s.input, e.key) });
    }

    case 'entering':
      if (e.type === 'room-entered') {
        const first = !e.created ? `Joined room ${e.room.id}.` : s.how === 'join' ? `There was no room ${e.room.id}: you made it, and own it.` : `Created room ${e.room.id}.`;
        return stay({ kind: 'in-room', name: s.name, room: e.room, muted: false, mutedHere: [], help: false, lines: [first] });
      }
      if (e.type === 'room-failed') return stay({ kind: 'menu', name: s.name, notice: describeRoomRefusal(e.code, s.how, s.room, e.message) });
      return stay(s);

    case 'in-room':
      return inRoom(s, e, action);

    case 'leaving-room':
      if (e.type === 'room-ended') return s.quitAfter ? quit() : stay({ kind: 'menu', name: s.name, notice: `You left room ${s.room}.` });
      return stay(s);

    case 'lookup': {
      if (e.type === 'incoming-gone' && s.caller?.id === e.id) return stay({ ...s, caller: undefined });
      if (e.type !== 'key') return stay(s);
      const target = s.input.trim();
      if (action === 'back' || (action === 'submit' && !target)) {
        return s.caller ? stay({ kind: 'incoming', name: s.name, ...s.caller }) : stay({ kind: 'menu', name: s.name });
      }
      if (action === 'submit') {
        if (s.caller) return stay({ kind: 'incoming', name: s.name, ...s.caller, then: target });
        return go({ kind: 'waiting', name: s.name, what: 'lookup', target }, { do: 'lookup', target });
      }
      return stay({ ...s, input: edit(s.input, e.key) });
    }

    case 'devices':
      return pickDevice(s, e, action);

    case 'waiting':
      if (e.type === 'users') return stay({ kind: 'menu', name: s.name, users: e.users });
      if (e.type === 'found') {
        if (e.user.name.toLowerCase() === s.name.toLowerCase()) {
          return stay({ kind: 'menu', name: s.name, notice: describeCallFailure(e.user.name, { reason: 'self_call', byMe: true }) });
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
          : stay({ kind: 'in-call', name: s.name, call: e.call, muted: false, help: false, ...(s.warning ? { warning: s.warning } : {}) });
      }
      if (e.type === 'notice') return stay({ ...s, warning: e.text });
      if (e.type === 'call-failed') {
        if (s.quitAfter) return quit();
        const failure = describeCallFailure(s.to, e.end);
        return stay({ kind: 'menu', name: s.name, notice: s.warning ? `${s.warning}\n${failure}` : failure });
      }
      if (action === 'cancel' && !s.cancelling) return go({ ...s, cancelling: true }, { do: 'cancel' });
      return stay(s);

    case 'incoming': {
      const after = (notice: string, ...effects: Effect[]): Step =>
        s.then
          ? go({ kind: 'waiting', name: s.name, what: 'lookup', target: s.then }, ...effects, { do: 'lookup', target: s.then })
          : go({ kind: 'menu', name: s.name, notice }, ...effects);
      if (e.type === 'incoming-gone' && e.id === s.id) return after(describeMissedCall(s.from, e.end));
      if (action === 'answer') return go({ kind: 'answering', name: s.name, from: s.from }, { do: 'accept', id: s.id });
      if (action === 'decline') return after(`You declined the call from ${s.from}.`, { do: 'decline', id: s.id });
      return stay(s);
    }

    case 'answering':
      if (e.type === 'call-connected') return stay({ kind: 'in-call', name: s.name, call: e.call, muted: false, help: false });
      if (e.type === 'call-failed') return stay({ kind: 'menu', name: s.name, notice: describeMissedCall(s.from, e.end) });
      return stay(s);

    case 'in-call':
      if (e.type === 'tick') return stay({ ...s, live: e.live });
      if (e.type === 'device') return stay({ ...s, device: e.text });
      if (e.type === 'notice') return stay({ ...s, server: e.text });
      if (e.type === 'call-ended') {
        const seconds = (e.now - s.call.startedAt) / 1000;
        const ended = describeCallEnd(s.call.peer, e.end, seconds);
        return stay({ kind: 'menu', name: s.name, notice: s.live ? `${ended}\nAudio: ${qualityLine(s.live)}.` : ended });
      }
      if (action === 'hangup') return go({ kind: 'hanging-up', name: s.name, peer: s.call.peer, quitAfter: false }, { do: 'hangup' });
      if (action === 'hangup-quit') return go({ kind: 'hanging-up', name: s.name, peer: s.call.peer, quitAfter: true }, { do: 'hangup' });
      if (action === 'mute') return go({ ...s, muted: !s.muted }, { do: 'mute', muted: !s.muted });
      if (action === 'help') return stay({ ...s, help: !s.help });
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

/** The device screen: the list arrives, a number and Enter pick the microphone, then the speaker. */
function pickDevice(s: Extract<UiState, { kind: 'devices' }>, e: UiEvent, action: string | undefined): Step {
  if (e.type === 'devices') return stay({ ...s, choices: e.choices });
  if (e.type === 'devices-failed') return stay({ kind: 'menu', name: s.name, notice: `Could not list the devices: ${e.message}` });
  if (e.type !== 'key') return stay(s);
  if (action === 'back') return stay({ kind: 'menu', name: s.name });
  const options = s.choices && (s.picked === undefined ? s.choices.inputs : s.choices.outputs);
  if (!options) return stay(s);
  if (action !== 'submit') {
    const typing = e.key.name === 'backspace' || (e.key.name === 'char' && /^[0-9]$/.test(e.key.text ?? ''));
    return typing ? stay({ ...s, input: edit(s.input, e.key) }) : stay(s);
  }
  const n = Number(s.input);
  if (!Number.isInteger(n) || n < 1 || n > options.length) return stay({ ...s, input: '', error: `Type a number from 1 to ${options.length}.` });
  const spec = options[n - 1].spec;
  if (s.picked === undefined) return stay({ ...s, picked: spec, input: '', error: undefined });
  return go({ kind: 'menu', name: s.name, notice: `Calls will use ${s.picked} and ${spec}.` }, { do: 'use-devices', input: s.picked, output: spec });
}

/** The room screen: its happenings as lines, the owner's start, muting oneself and the others, leaving. */
function inRoom(s: Extract<UiState, { kind: 'in-room' }>, e: UiEvent, action: string | undefined): Step {
  switch (e.type) {
    case 'room-tick':
      return settle({ ...s, room: e.room });
    case 'room-event': {
      const h = e.happening;
      const lines = [...s.lines, describeHappening(h, s.name)].slice(-ROOM_LINES);
      // Someone who left and comes back is heard again.
      const mutedHere = h.what === 'left' ? s.mutedHere.filter((n) => n !== h.name) : s.mutedHere;
      // A notice is about the room as it was: the happening supersedes it.
      return settle({ ...s, room: e.room, lines, mutedHere, notice: undefined });
    }
    case 'room-ended': {
      const why = e.reason === 'disconnected' ? 'the connection to the server dropped, and the room went on without you' : (e.message ?? e.reason);
      return stay({ kind: 'menu', name: s.name, notice: `Out of room ${s.room.id}: ${why}.` });
    }
    case 'notice':
      return stay({ ...s, notice: e.text });
  }
  switch (action) {
    case 'leave':
      return leaveRoom(s, false);
    case 'leave-quit':
      return leaveRoom(s, true);
    case 'start':
      if (s.room.owner !== s.name) return stay({ ...s, notice: `Only the owner (${s.room.owner}) can start the room.` });
      if (s.room.phase === 'running') return stay({ ...s, notice: 'The room is running already.' });
      return go({ ...s, notice: undefined }, { do: 'room-start' });
    case 'mute':
      return go({ ...s, muted: !s.muted }, { do: 'mute', muted: !s.muted });
    case 'mute-member': {
      const member = others(s)[Number(e.type === 'key' ? e.key.text : 0) - 1];
      if (!member) return stay(s);
      const muted = !s.mutedHere.includes(member);
      const mutedHere = muted ? [...s.mutedHere, member] : s.mutedHere.filter((n) => n !== member);
      return go({ ...s, mutedHere }, { do: 'room-mute-member', member, muted });
    }
    case 'help':
      return stay({ ...s, help: !s.help });
  }
  return stay(s);
}

/** The room as it shows, with the effects that make its media mute what this side chose. */
function settle(s: Extract<UiState, { kind: 'in-room' }>): Step {
  const effects: Effect[] = [];
  for (const m of s.room.members) {
    const want = s.mutedHere.includes(m.name);
    if (m.muted !== null && m.muted !== want) effects.push({ do: 'room-mute-member', member: m.name, muted: want });
  }
  if (s.room.micMuted !== null && s.room.micMuted !== s.muted) effects.push({ do: 'mute', muted: s.muted });
  return go(s, ...effects);
}

function leaveRoom(s: Extract<UiState, { kind: 'in-room' }>, quitAfter: boolean): Step {
  return go({ kind: 'leaving-room', name: s.name, room: s.room.id, quitAfter }, { do: 'room-leave' });
}

/** The other members, as the room screen numbers them from 1. */
export function others(s: Extract<UiState, { kind: 'in-room' }>): string[] {
  return s.room.members.map((m) => m.name).filter((n) => n !== s.name);
}

/** Leaving from wherever we are: end what is in progress first, then exit. */
function shutdown(s: UiState): Step {
  switch (s.kind) {
    case 'in-call':
      return go({ kind: 'hanging-up', name: s.name, peer: s.call.peer, quitAfter: true }, { do: 'hangup' });
    case 'calling':
      return s.quitAfter ? stay(s) : go({ ...s, cancelling: true, quitAfter: true }, { do: 'cancel' });
    case 'incoming':
      return go({ kind: 'quitting' }, { do: 'decline', id: s.id }, { do: 'exit', code: EXIT.ok });
    case 'in-room':
      return leaveRoom(s, true);
    case 'leaving-room':
      return stay({ ...s, quitAfter: true });
    case 'lookup':
    case 'room-id':
      return s.caller ? go({ kind: 'quitting' }, { do: 'decline', id: s.caller.id }, { do: 'exit', code: EXIT.ok }) : quit();
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

function isScreen(kind: UiState['kind']): kind is Binding['screen'] {
  return (
    kind === 'unreachable' ||
    kind === 'naming' ||
    kind === 'menu' ||
    kind === 'lookup' ||
    kind === 'room-id' ||
    kind === 'in-room' ||
    kind === 'devices' ||
    kind === 'calling' ||
    kind === 'incoming' ||
    kind === 'in-call'
  );
}

/** The name to register again after a reconnect: the one accepted, or the one being registered. */
function registeredName(s: UiState): string | undefined {
  return 'name' in s ? s.name : undefined;
}

/** Line editing for the two text prompts. */
function edit(input: string, key: Key): string {
  if (key.name === 'backspace') return input.slice(0, -1);
  if (key.name === 'char' && key.text && input.length < 64) return input + key.text;
  return input;
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
