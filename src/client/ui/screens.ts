/** What each state looks like: a list of lines, the prompt (if any) last so the cursor sits after it. */
import { formatDuration } from '../views/messages';
import { bindingsOf, keysFor, type Binding, type KeyConfig } from './keys';
import { levelMeter, statsLines } from './meter';
import { describeTerms } from '../views/room-view';
import { others, type UiState } from './state';

export interface ScreenContext extends KeyConfig {
  server: string;
}

const bold = (s: string) => `\x1b[1m${s}\x1b[22m`;
const dim = (s: string) => `\x1b[2m${s}\x1b[22m`;

export function render(s: UiState, ctx: ScreenContext): string[] {
  const keys = keysFor(ctx);
  const title = 'name' in s && s.kind !== 'registering' && s.name ? `parley — ${s.name} @ ${ctx.server}` : `parley — ${ctx.server}`;
  const lines = [bold(title), ''];
  const notice = 'notice' in s && s.notice ? [...s.notice.split('\n'), ''] : [];
  switch (s.kind) {
    case 'connecting':
      return [...lines, ...notice, `Connecting to ${ctx.server}…`];
    case 'unreachable':
      return [...lines, ...notice, capitalize(s.message), '', `Retry? [${choices(keys, 'unreachable')}] `];
    case 'naming':
      return [...lines, ...notice, ...(s.error ? [s.error, ''] : []), `Your name: ${s.input}`];
    case 'registering':
      return [...lines, `Registering as ${s.name}…`];
    case 'menu':
      return [...lines, ...notice, ...userList(s), ...menu(keys), 'Choose: '];
    case 'lookup':
      return [
        ...lines,
        ...(s.caller ? [`${bold(s.caller.from)} is calling: finish or go back, then answer.`, ''] : []),
        `Call whom? ${dim(`(${hints(keys, 'lookup')})`)}`,
        `Name: ${s.input}`,
      ];
    case 'room-id':
      return [
        ...lines,
        ...(s.caller ? [`${bold(s.caller.from)} is calling: finish or go back, then answer.`, ''] : []),
        s.how === 'create'
          ? `Create a room ${dim(`(${hints(keys, 'room-id')}; Enter alone: the server picks a readable id)`)}`
          : `Join which room? ${dim(`(${hints(keys, 'room-id')})`)}`,
        ...(s.error ? [s.error] : []),
        `Room id: ${s.input}`,
      ];
    case 'entering':
      return [...lines, s.how === 'create' ? `Creating ${s.room ? `room ${s.room}` : 'a room'}…` : `Joining room ${s.room}…`];
    case 'in-room':
      return [...lines, ...roomScreen(s, keys)];
    case 'leaving-room':
      return [...lines, `Leaving room ${s.room}…`];
    case 'devices':
      return [...lines, ...deviceScreen(s, keys)];
    case 'waiting':
      return [...lines, s.what === 'list' ? 'Asking who is online…' : `Looking up ${s.target}…`];
    case 'calling':
      return [...lines, s.cancelling ? `Cancelling the call to ${s.to}…` : `Calling ${s.to}…`, '', keyHints(keys, 'calling')];
    case 'incoming':
      return [...lines, `${bold(s.from)} is calling — answer? [${choices(keys, 'incoming')}] `];
    case 'answering':
      return [...lines, `Connecting to ${s.from}…`];
    case 'in-call':
      return [...lines, ...callScreen(s, keys)];
    case 'hanging-up':
      return [...lines, `Hanging up on ${s.peer}…`];
    case 'quitting':
      return [...lines, s.message ?? 'Goodbye.'];
  }
}

/** "Y/N": the first key of each binding of a yes/no screen. */
function choices(keys: readonly Binding[], screen: Binding['screen']): string {
  return bindingsOf(keys, screen)
    .map((b) => b.label)
    .join('/');
}

/** "Enter to call, Esc to go back". */
function hints(keys: readonly Binding[], screen: Binding['screen']): string {
  return bindingsOf(keys, screen)
    .map((b) => `${b.label} to ${b.help}`)
    .join(', ');
}

/** "h or Esc cancel": the labels in bold with their help. */
function keyHints(keys: readonly Binding[], screen: Binding['screen']): string {
  return bindingsOf(keys, screen)
    .map((b) => `${bold(b.label)} ${b.help}`)
    .join('   ');
}

function menu(keys: readonly Binding[]): string[] {
  return [...bindingsOf(keys, 'menu').map((b) => `  ${bold(b.label)}  ${b.help}`), ''];
}

function userList(s: Extract<UiState, { kind: 'menu' }>): string[] {
  if (!s.users) return [];
  const others = s.users.filter((u) => u.name.toLowerCase() !== s.name.toLowerCase());
  if (others.length === 0) return ['No one else is online.', ''];
  return [`Online (${others.length}):`, ...others.map((u) => `  ${u.name.padEnd(32)} ${u.status}`), ''];
}

function deviceScreen(s: Extract<UiState, { kind: 'devices' }>, keys: readonly Binding[]): string[] {
  if (!s.choices) return ['Looking for devices…'];
  const what = s.picked === undefined ? 'microphone (input)' : 'speaker (output)';
  const options = s.picked === undefined ? s.choices.inputs : s.choices.outputs;
  const width = Math.min(32, Math.max(...options.map((o) => o.spec.length)));
  return [
    ...(s.picked === undefined ? [] : [`Microphone: ${s.picked}`, '']),
    `Choose the ${what}: ${dim(`(${hints(keys, 'devices')})`)}`,
    ...options.map((o, i) => `  ${bold(String(i + 1).padStart(2))}  ${o.spec.padEnd(width)}  ${o.label}`),
    '',
    ...(s.error ? [s.error, ''] : []),
    `Number: ${s.input}`,
  ];
}

/** The call screen's one-word key hints: the help screen has the full sentences. */
const SHORT: Record<string, (muted: boolean) => string> = {
  hangup: () => 'hang up',
  mute: (muted) => (muted ? 'unmute' : 'mute'),
  help: () => 'help',
};

function callScreen(s: Extract<UiState, { kind: 'in-call' }>, keys: readonly Binding[]): string[] {
  const live = s.live;
  const elapsed = live ? (live.now - s.call.startedAt) / 1000 : 0;
  const lines = [
    `In a call with ${bold(s.call.peer)}   ${formatDuration(elapsed)}${s.muted ? `   ${bold('MUTED')}` : ''}`,
    '',
    `Codec    ${s.call.codec}, ${s.call.frameMs} ms frames`,
    `Secure   encrypted; SAS ${bold(s.call.sas)} (read it to each other: it should match)`,
    `Path     ${live ? live.path : '…'}`,
    `Voice    ${s.call.processing}`,
    `Mic      ${levelMeter(s.muted || !live ? -Infinity : live.inputDb)}${live?.talkingLocal && !s.muted ? '  talking' : ''}`,
    `Speaker  ${levelMeter(live ? live.outputDb : -Infinity)}${live?.talkingRemote ? '  talking' : ''}`,
    ...(live ? statsLines(live) : ['Waiting for statistics…']),
    ...(s.device ? ['', s.device] : []),
    ...(s.warning ? ['', bold(s.warning)] : []),
    ...(s.server ? ['', s.server] : []),
    '',
    bindingsOf(keys, 'in-call')
      .filter((b) => SHORT[b.action])
      .map((b) => `${bold(b.label)} ${SHORT[b.action](s.muted)}`)
      .join('   '),
  ];
  if (s.help) {
    lines.push(
      '',
      ...bindingsOf(keys, 'in-call').map((b) => `  ${b.label.padEnd(7)} ${b.help}`),
      `  ${'Ctrl-C'.padEnd(7)} hang up and quit`,
      '',
      '  RTT: round trip to the other side; jitter: variation in packet arrival;',
      '  loss: packets that never arrived; buffer: audio held back to absorb jitter;',
      '  recovered: lost packets replayed from a redundant copy; concealed: audio made up',
      '  for lost packets; stretched: audio added or taken out while the buffer moved.',
      '  path: direct to the other side\'s own address (host) or to its NAT\'s (reflexive).',
    );
  }
  return lines;
}

/** The room screen's one-word key hints, as the call screen's; start and the numbers only where they would do something. */
const ROOM_SHORT: Record<string, (s: Extract<UiState, { kind: 'in-room' }>) => string | undefined> = {
  leave: () => 'leave',
  start: (s) => (s.room.owner === s.name && s.room.phase !== 'running' ? 'start' : undefined),
  mute: (s) => (s.muted ? 'unmute' : 'mute'),
  'mute-member': (s) => (others(s).length ? 'mute a member' : undefined),
  help: () => 'help',
};

function roomScreen(s: Extract<UiState, { kind: 'in-room' }>, keys: readonly Binding[]): string[] {
  const { room } = s;
  const numbers = new Map(others(s).map((name, i) => [name, i + 1]));
  const width = Math.min(32, Math.max(...room.members.map((m) => m.name.length)));
  const member = (m: (typeof room.members)[number]): string => {
    const me = m.name === s.name;
    const n = numbers.get(m.name);
    const label = n !== undefined && n <= 9 ? bold(String(n)) : ' ';
    const marks = [me && '(you)', m.name === room.owner && '(owner)', m.talking && 'talking', s.mutedHere.includes(m.name) && '(muted here)', me && s.muted && bold('MUTED')];
    const level = me ? (s.muted ? -Infinity : room.micDb) : m.level;
    return `  ${label}  ${m.name.padEnd(width)}  ${levelMeter(level, 16)}  ${marks.filter(Boolean).join(' ')}`.trimEnd();
  };
  const lines = [
    `Room     ${bold(room.id)}   ${dim('(share this id: the others join it with 4)')}`,
    `Phase    ${roomPhase(s)}`,
    ...(room.processing ? [`Voice    ${room.processing}`] : []),
    `Speaker  ${levelMeter(room.speakerDb, 16)}`,
    '',
    `Members (${room.members.length}):`,
    ...room.members.map(member),
    '',
    ...s.lines,
    ...(s.lines.length ? [''] : []),
    ...(s.notice ? [s.notice, ''] : []),
    bindingsOf(keys, 'in-room')
      .flatMap((b) => {
        const hint = ROOM_SHORT[b.action]?.(s);
        return hint ? [`${bold(b.label)} ${hint}`] : [];
      })
      .join('   '),
  ];
  if (s.help) {
    lines.push('', ...bindingsOf(keys, 'in-room').map((b) => `  ${b.label.padEnd(7)} ${b.help}`), `  ${'Ctrl-C'.padEnd(7)} leave the room and quit`);
  }
  return lines;
}

function roomPhase(s: Extract<UiState, { kind: 'in-room' }>): string {
  const { room } = s;
  switch (room.phase) {
    case 'open':
      return room.owner === s.name ? 'waiting for you to start it: press s once everyone is in' : `waiting for ${room.owner} (the owner) to start it`;
    case 'negotiating':
      return 'negotiating the codec…';
    case 'running':
      return room.terms ? `running: ${describeTerms(room.terms)}` : 'running: opening the audio…';
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
