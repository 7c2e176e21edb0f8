/** What each state looks like: a list of lines, the prompt (if any) last so the cursor sits after it. */
import { formatDuration } from './messages';
import { levelMeter, statsLine } from './meter';
import type { UiState } from './state';

export interface ScreenContext {
  server: string;
  hangupKey: string;
}

const bold = (s: string) => `\x1b[1m${s}\x1b[22m`;
const dim = (s: string) => `\x1b[2m${s}\x1b[22m`;

export function render(s: UiState, ctx: ScreenContext): string[] {
  const title = 'name' in s && s.kind !== 'registering' && s.name ? `parley — ${s.name} @ ${ctx.server}` : `parley — ${ctx.server}`;
  const lines = [bold(title), ''];
  const notice = 'notice' in s && s.notice ? [s.notice, ''] : [];
  switch (s.kind) {
    case 'connecting':
      return [...lines, ...notice, `Connecting to ${ctx.server}…`];
    case 'unreachable':
      return [...lines, ...notice, capitalize(s.message), '', 'Retry? [R/Q] '];
    case 'naming':
      return [...lines, ...notice, ...(s.error ? [s.error, ''] : []), `Your name: ${s.input}`];
    case 'registering':
      return [...lines, `Registering as ${s.name}…`];
    case 'menu':
      return [...lines, ...notice, ...userList(s), ...menu(), 'Choose: '];
    case 'lookup':
      return [...lines, `Call whom? ${dim('(Enter to call, Esc to go back)')}`, `Name: ${s.input}`];
    case 'waiting':
      return [...lines, s.what === 'list' ? 'Asking who is online…' : `Looking up ${s.target}…`];
    case 'calling':
      return [
        ...lines,
        s.cancelling ? `Cancelling the call to ${s.to}…` : `Calling ${s.to}…`,
        '',
        `${bold(ctx.hangupKey)} or ${bold('Esc')} cancel`,
      ];
    case 'incoming':
      return [...lines, `${bold(s.from)} is calling — answer? [Y/N] `];
    case 'answering':
      return [...lines, `Connecting to ${s.from}…`];
    case 'in-call':
      return [...lines, ...callScreen(s, ctx)];
    case 'hanging-up':
      return [...lines, `Hanging up on ${s.peer}…`];
    case 'quitting':
      return [...lines, s.message ?? 'Goodbye.'];
  }
}

function menu(): string[] {
  return [`  ${bold('1')}  look up a user and call them`, `  ${bold('2')}  list who is online`, `  ${bold('0')}  quit`, ''];
}

function userList(s: Extract<UiState, { kind: 'menu' }>): string[] {
  if (!s.users) return [];
  const others = s.users.filter((u) => u.name.toLowerCase() !== s.name.toLowerCase());
  if (others.length === 0) return ['No one else is online.', ''];
  return [`Online (${others.length}):`, ...others.map((u) => `  ${u.name.padEnd(32)} ${u.status}`), ''];
}

function callScreen(s: Extract<UiState, { kind: 'in-call' }>, ctx: ScreenContext): string[] {
  const live = s.live;
  const elapsed = live ? (live.now - s.call.startedAt) / 1000 : 0;
  const lines = [
    `In a call with ${bold(s.call.peer)}   ${formatDuration(elapsed)}${s.muted ? `   ${bold('MUTED')}` : ''}`,
    '',
    `Codec    ${s.call.codec}, ${s.call.frameMs} ms frames`,
    `Mic      ${levelMeter(s.muted || !live ? -Infinity : live.inputDb)}`,
    `Speaker  ${levelMeter(live ? live.outputDb : -Infinity)}`,
    live ? statsLine(live) : 'Waiting for statistics…',
    '',
    `${bold(ctx.hangupKey)} hang up   ${bold('m')} ${s.muted ? 'unmute' : 'mute'}   ${bold('?')} help`,
  ];
  if (s.help) {
    lines.push(
      '',
      `  ${ctx.hangupKey}       hang up and go back to the menu`,
      '  m       mute or unmute your microphone',
      '  0       hang up and quit',
      '  Ctrl-C  hang up and quit',
      '  ?       hide this help',
      '',
      '  RTT: round trip to the other side; jitter: variation in packet arrival;',
      '  loss: packets that never arrived; buffer: audio held back to absorb jitter.',
    );
  }
  return lines;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
