/**
 * Every key of the interactive client as one table: which screen, which keys, the label and
 * help text shown for it, and the action it takes. The state machine looks keys up here and the
 * screens draw their key hints and the help from the same rows, so they cannot disagree.
 */
export interface Key {
  /** 'char' for printable text; otherwise enter, backspace, escape, ctrl-c. */
  name: 'char' | 'enter' | 'backspace' | 'escape' | 'ctrl-c';
  text?: string;
}

export type Screen = 'unreachable' | 'naming' | 'menu' | 'lookup' | 'room-id' | 'devices' | 'calling' | 'incoming' | 'in-call' | 'in-room';

export type KeyAction =
  | 'retry'
  | 'quit'
  | 'lookup'
  | 'list'
  | 'create-room'
  | 'join-room'
  | 'devices'
  | 'submit'
  | 'back'
  | 'cancel'
  | 'answer'
  | 'decline'
  | 'hangup'
  | 'hangup-quit'
  | 'mute'
  | 'help'
  | 'start'
  | 'mute-member'
  | 'leave'
  | 'leave-quit';

export interface Binding {
  screen: Screen;
  /** Characters, or the names of special keys. */
  keys: readonly (string | { special: Key['name'] })[];
  label: string;
  help: string;
  action: KeyAction;
}

const ENTER = { special: 'enter' } as const;
const ESC = { special: 'escape' } as const;
/** The room screen numbers the other members 1 to 9. */
const MEMBER_KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9'];

export interface KeyConfig {
  hangupKey: string;
}

export function keyTable(cfg: KeyConfig): readonly Binding[] {
  const h = cfg.hangupKey;
  return [
    { screen: 'unreachable', keys: ['r', 'R', ENTER], label: 'R', help: 'retry', action: 'retry' },
    { screen: 'unreachable', keys: ['q', 'Q', '0', ESC], label: 'Q', help: 'quit', action: 'quit' },
    { screen: 'naming', keys: [ENTER], label: 'Enter', help: 'register', action: 'submit' },
    { screen: 'menu', keys: ['1'], label: '1', help: 'look up a user and call them', action: 'lookup' },
    { screen: 'menu', keys: ['2'], label: '2', help: 'list who is online', action: 'list' },
    { screen: 'menu', keys: ['3'], label: '3', help: 'create a room', action: 'create-room' },
    { screen: 'menu', keys: ['4'], label: '4', help: 'join a room', action: 'join-room' },
    { screen: 'menu', keys: ['5'], label: '5', help: 'choose the microphone and speaker', action: 'devices' },
    { screen: 'menu', keys: ['0', 'q'], label: '0', help: 'quit', action: 'quit' },
    { screen: 'lookup', keys: [ENTER], label: 'Enter', help: 'call', action: 'submit' },
    { screen: 'lookup', keys: [ESC], label: 'Esc', help: 'go back', action: 'back' },
    { screen: 'room-id', keys: [ENTER], label: 'Enter', help: 'go in', action: 'submit' },
    { screen: 'room-id', keys: [ESC], label: 'Esc', help: 'go back', action: 'back' },
    { screen: 'devices', keys: [ENTER], label: 'Enter', help: 'choose', action: 'submit' },
    { screen: 'devices', keys: [ESC], label: 'Esc', help: 'go back and keep the devices as they were', action: 'back' },
    { screen: 'calling', keys: [h.toLowerCase(), h.toUpperCase(), ESC], label: `${h} or Esc`, help: 'cancel', action: 'cancel' },
    { screen: 'incoming', keys: ['y', 'Y'], label: 'Y', help: 'answer', action: 'answer' },
    { screen: 'incoming', keys: ['n', 'N', ESC], label: 'N', help: 'decline', action: 'decline' },
    { screen: 'in-call', keys: [h.toLowerCase(), h.toUpperCase()], label: h, help: 'hang up and go back to the menu', action: 'hangup' },
    { screen: 'in-call', keys: ['m', 'M'], label: 'm', help: 'mute or unmute your microphone', action: 'mute' },
    { screen: 'in-call', keys: ['0'], label: '0', help: 'hang up and quit', action: 'hangup-quit' },
    { screen: 'in-call', keys: ['?'], label: '?', help: 'show or hide this help', action: 'help' },
    // First: the hang-up key wins should it be s.
    { screen: 'in-room', keys: [h.toLowerCase(), h.toUpperCase()], label: h, help: 'leave the room and go back to the menu', action: 'leave' },
    { screen: 'in-room', keys: ['s', 'S'], label: 's', help: 'start the room (the owner only)', action: 'start' },
    { screen: 'in-room', keys: ['m', 'M'], label: 'm', help: 'mute or unmute your microphone', action: 'mute' },
    { screen: 'in-room', keys: MEMBER_KEYS, label: '1-9', help: 'mute or unmute that member here (the others still hear them)', action: 'mute-member' },
    { screen: 'in-room', keys: ['0'], label: '0', help: 'leave the room and quit', action: 'leave-quit' },
    { screen: 'in-room', keys: ['?'], label: '?', help: 'show or hide this help', action: 'help' },
  ];
}

/** Key tables by hang-up key: built once, not on every key press or redraw. */
const tables = new Map<string, readonly Binding[]>();
export function keysFor(cfg: KeyConfig): readonly Binding[] {
  let t = tables.get(cfg.hangupKey);
  if (!t) tables.set(cfg.hangupKey, (t = keyTable(cfg)));
  return t;
}

/** The action `key` takes on `screen`, if any. */
export function actionFor(table: readonly Binding[], screen: Screen, key: Key): KeyAction | undefined {
  for (const b of table) {
    if (b.screen !== screen) continue;
    for (const k of b.keys) {
      if (typeof k === 'string' ? key.name === 'char' && key.text === k : key.name === k.special) return b.action;
    }
  }
  return undefined;
}

export function bindingsOf(table: readonly Binding[], screen: Screen): Binding[] {
  return table.filter((b) => b.screen === screen);
}
