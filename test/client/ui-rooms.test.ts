/** The interactive client's rooms, event by event: the state machine and the room screen, without a terminal or a network. */
import { render } from '../../src/client/ui/screens';
import { transition, type Key, type RoomView, type Step, type UiEvent, type UiState } from '../../src/client/ui/state';

const cfg = { hangupKey: 'h' };
const ctx = { server: 's', hangupKey: 'h' };
const key = (text: string): UiEvent => ({ type: 'key', key: { name: 'char', text } });
const special = (name: Key['name']): UiEvent => ({ type: 'key', key: { name } });
const plain = (lines: string[]) => lines.join('\n').replace(/\x1b\[[0-9;]*m/g, '');

function play(start: UiState | Step, ...events: UiEvent[]): Step {
  const first = 'kind' in start ? { state: start, effects: [] } : start;
  return events.reduce<Step>((step, e) => transition(step.state, e, cfg), first);
}

const menu: UiState = { kind: 'menu', name: 'alice' };
const member = (name: string, level = -Infinity, talking = false, muted: boolean | null = null) => ({ name, level, talking, muted });
const room = (over: Partial<RoomView> = {}): RoomView => ({
  id: 'den',
  owner: 'alice',
  members: [member('alice')],
  phase: 'open',
  terms: null,
  micDb: -Infinity,
  speakerDb: -Infinity,
  micMuted: null,
  processing: null,
  ...over,
});
const terms = { v: 1 as const, codec: { name: 'opus', payloadType: 111, clockRate: 48000, channels: 1, frameMs: 20 as const }, red: true, topology: 'forward' as const };
type InRoom = Extract<UiState, { kind: 'in-room' }>;
const inRoom = (over: Partial<InRoom> = {}): InRoom => ({
  kind: 'in-room',
  name: 'alice',
  room: room({ members: [member('alice'), member('bob'), member('carol')] }),
  muted: false,
  mutedHere: [],
  help: false,
  lines: [],
  ...over,
});

test('3 asks for an optional id: typed, or Enter alone for one the server mints', () => {
  const asked = play(menu, key('3'));
  expect(asked.state).toEqual({ kind: 'room-id', name: 'alice', how: 'create', input: '' });
  expect(plain(render(asked.state, ctx))).toMatch(/Create a room \(Enter to go in, Esc to go back; Enter alone: the server picks a readable id\)\nRoom id: $/);
  expect(play(asked, key('d'), key('x'), special('backspace'), key('e'), key('n'), special('enter'))).toEqual({
    state: { kind: 'entering', name: 'alice', how: 'create', room: 'den' },
    effects: [{ do: 'room-enter', how: 'create', room: 'den' }],
  });
  const minted = play(asked, special('enter'));
  expect(minted).toEqual({ state: { kind: 'entering', name: 'alice', how: 'create', room: undefined }, effects: [{ do: 'room-enter', how: 'create', room: undefined }] });
  expect(plain(render(minted.state, ctx))).toContain('Creating a room…');
  expect(play(asked, special('escape')).state).toEqual(menu);
});

test('4 asks for the id, which is required', () => {
  const asked = play(menu, key('4'));
  expect(asked.state).toMatchObject({ kind: 'room-id', how: 'join' });
  expect(play(asked, special('enter')).state).toMatchObject({ kind: 'room-id', error: "Type the room's id." });
  const joining = play(asked, key('d'), key('e'), key('n'), special('enter'));
  expect(joining.effects).toEqual([{ do: 'room-enter', how: 'join', room: 'den' }]);
  expect(plain(render(joining.state, ctx))).toContain('Joining room den…');
});

test('a refusal comes back to the menu with a clear notice', () => {
  const entering: UiState = { kind: 'entering', name: 'alice', how: 'join', room: 'den' };
  for (const [code, notice] of [
    ['room_full', 'Room "den" is full.'],
    ['room_exists', 'There is already a room "den": join it with 4 instead.'],
    ['bad_room', '"den" is not a room id: a room id is 1 to 40 letters.'],
    ['busy', "You can't be in a room now: in a call."],
    ['failed', 'Could not join room "den": the microphone failed to open.'],
  ]) {
    const message = { room_full: 'full', room_exists: 'exists', bad_room: 'a room id is 1 to 40 letters', busy: 'in a call', failed: 'the microphone failed to open' }[code]!;
    expect(play(entering, { type: 'room-failed', code, message })).toEqual({ state: { kind: 'menu', name: 'alice', notice }, effects: [] });
  }
  const minting: UiState = { kind: 'entering', name: 'alice', how: 'create' };
  expect(play(minting, { type: 'room-failed', code: 'too_many_rooms', message: '' }).state).toMatchObject({ notice: 'The server has as many rooms as it allows: try again later.' });
});

test('entered: the room screen shows the id to share, the phase, the members with the owner and oneself marked', () => {
  const s = play({ kind: 'entering', name: 'alice', how: 'create', room: 'den' }, { type: 'room-entered', room: room(), created: true });
  expect(s.state).toEqual({ kind: 'in-room', name: 'alice', room: room(), muted: false, mutedHere: [], help: false, lines: ['Created room den.'] });
  const screen = plain(render(s.state, ctx));
  expect(screen).toMatch(/Room {5}den {3}\(share this id: the others join it with 4\)/);
  expect(screen).toContain('Phase    waiting for you to start it: press s once everyone is in');
  expect(screen).toMatch(/Members \(1\):\n {5}alice {2}\[-+\] +- dBFS {2}\(you\) \(owner\)/);
  expect(screen).toContain('h leave   s start   m mute   ? help');
  const bobs = plain(render({ ...(s.state as InRoom), name: 'bob', room: room({ members: [member('alice'), member('bob')] }) }, ctx));
  expect(bobs).toContain('Phase    waiting for alice (the owner) to start it');
  // Only the owner is offered s, and only until the room runs.
  expect(bobs).toContain('h leave   m mute   1-9 mute a member   ? help');
  expect(plain(render(inRoom(), ctx))).toContain('h leave   s start   m mute   1-9 mute a member   ? help');
  expect(plain(render(inRoom({ room: { ...inRoom().room, phase: 'running' } }), ctx))).toContain('h leave   m mute   1-9');
});

test('joining says whether the room was there or was made by joining it', () => {
  const joining: UiState = { kind: 'entering', name: 'bob', how: 'join', room: 'den' };
  expect(play(joining, { type: 'room-entered', room: room(), created: false }).state).toMatchObject({ lines: ['Joined room den.'] });
  expect(play(joining, { type: 'room-entered', room: room({ owner: 'bob' }), created: true }).state).toMatchObject({ lines: ['There was no room den: you made it, and own it.'] });
});

test("the room's happenings become lines (the last six), with the members as they stand", () => {
  let s: Step = { state: inRoom(), effects: [] };
  const now = room({ members: [member('alice'), member('bob'), member('carol'), member('dave')] });
  const happenings: [UiEvent, string][] = [
    [{ type: 'room-event', happening: { what: 'joined', name: 'dave' }, room: now }, 'dave joined.'],
    [{ type: 'room-event', happening: { what: 'offer', by: 'alice', terms }, room: room({ phase: 'negotiating' }) }, "You offered opus at 20 ms frames, with redundancy, through the server's forwarder."],
    [{ type: 'room-event', happening: { what: 'nacked', by: 'bob' }, room: now }, 'bob asked for other terms.'],
    [{ type: 'room-event', happening: { what: 'untrusted', name: 'eve', why: 'its identity key is not the one remembered for that name' }, room: now }, 'eve is not heard: its identity key is not the one remembered for that name.'],
    [{ type: 'room-event', happening: { what: 'left', name: 'dave', disconnected: true }, room: now }, 'dave lost the server and is out of the room.'],
    [{ type: 'room-event', happening: { what: 'left', name: 'carol', disconnected: false }, room: now }, 'carol left.'],
    [{ type: 'room-event', happening: { what: 'owner', name: 'bob' }, room: room({ owner: 'bob' }) }, 'bob is the owner now.'],
    [{ type: 'room-event', happening: { what: 'started', terms }, room: now }, "Audio with opus at 20 ms frames, with redundancy, through the server's forwarder, encrypted with each member's own key."],
  ];
  for (const [e, line] of happenings) {
    s = play(s, e);
    expect((s.state as InRoom).lines.at(-1)).toBe(line);
    expect((s.state as InRoom).room).toBe((e as Extract<UiEvent, { type: 'room-event' }>).room);
  }
  expect((s.state as InRoom).lines).toHaveLength(6);
  expect(play(inRoom(), { type: 'room-event', happening: { what: 'owner', name: 'alice' }, room: room() }).state).toMatchObject({ lines: ['You are the owner now: s starts the room.'] });
});

test('the screen shows the phase as it goes, the agreed codec, levels and who is talking', () => {
  const running = inRoom({
    room: room({
      phase: 'running',
      terms,
      members: [member('alice'), member('bob', -20, true), member('carol')],
      micDb: -30,
      speakerDb: -20,
      processing: 'echo cancellation, noise suppression, gain control (webrtc-apm); silence suppression',
    }),
    mutedHere: ['carol'],
    muted: true,
  });
  const screen = plain(render(running, ctx));
  expect(screen).toContain('Phase    running: opus at 20 ms frames, with redundancy');
  expect(screen).toContain('Voice    echo cancellation, noise suppression, gain control (webrtc-apm); silence suppression');
  expect(plain(render(inRoom({ room: room({ phase: 'running' }) }), ctx))).not.toContain('Voice');
  expect(screen).toMatch(/alice {2}\[-{16}\] +- dBFS {2}\(you\) \(owner\) MUTED/);
  expect(screen).toMatch(/ 1 {2}bob {4}\[#+-+\] +-20 dBFS {2}talking/);
  expect(screen).toMatch(/ 2 {2}carol {2}\[-+\] +- dBFS {2}\(muted here\)/);
  expect(screen).toContain('m unmute');
  expect(plain(render(inRoom({ room: room({ phase: 'negotiating' }) }), ctx))).toContain('Phase    negotiating the codec…');
  expect(plain(render(inRoom({ room: room({ phase: 'running' }) }), ctx))).toContain('Phase    running: opening the audio…');
  // Levels refresh on the tick.
  const ticked = play(inRoom(), { type: 'room-tick', room: running.room });
  expect(ticked).toEqual({ state: { ...inRoom(), room: running.room }, effects: [] });
});

test('s starts the room for the owner only', () => {
  expect(play(inRoom(), key('s'))).toEqual({ state: inRoom(), effects: [{ do: 'room-start' }] });
  const member = inRoom({ name: 'bob' });
  const told = play(member, key('s'));
  expect(told).toEqual({ state: { ...member, notice: 'Only the owner (alice) can start the room.' }, effects: [] });
  expect(plain(render(told.state, ctx))).toContain('Only the owner (alice) can start the room.');
  // The next happening takes the notice away (the owner may have changed meanwhile).
  expect(play(told, { type: 'room-event', happening: { what: 'owner', name: 'bob' }, room: room({ owner: 'bob' }) }).state).toMatchObject({ notice: undefined });
  expect(play(inRoom({ room: room({ phase: 'running' }) }), key('s')).effects).toEqual([]);
  const failed = play(inRoom(), { type: 'room-event', happening: { what: 'start-failed', message: 'no codec here that every member can take' }, room: room() });
  expect(failed.state).toMatchObject({ lines: ['Could not start: no codec here that every member can take.'] });
});

test('m mutes the own microphone; 1-9 mute the other members here, in the order shown', () => {
  const muted = play(inRoom(), key('m'));
  expect(muted).toEqual({ state: inRoom({ muted: true }), effects: [{ do: 'mute', muted: true }] });
  expect(play(muted, key('m')).effects).toEqual([{ do: 'mute', muted: false }]);
  const carol = play(inRoom(), key('2'));
  expect(carol).toEqual({ state: inRoom({ mutedHere: ['carol'] }), effects: [{ do: 'room-mute-member', member: 'carol', muted: true }] });
  expect(play(carol, key('2'))).toEqual({ state: inRoom(), effects: [{ do: 'room-mute-member', member: 'carol', muted: false }] });
  // No third other member: nothing happens.
  expect(play(inRoom(), key('3'))).toEqual({ state: inRoom(), effects: [] });
  // Oneself is not numbered: on bob's screen, alice is 1.
  expect(play(inRoom({ name: 'bob' }), key('1')).effects).toEqual([{ do: 'room-mute-member', member: 'alice', muted: true }]);
});

test('whenever the media differs from what was chosen here (new media, a member heard late), it is told again', () => {
  const s = inRoom({ muted: true, mutedHere: ['bob', 'carol'] });
  // No media yet: nothing to tell.
  expect(play(s, { type: 'room-tick', room: s.room }).effects).toEqual([]);
  const fresh = room({ members: [member('alice'), member('bob', -20, false, false), member('carol'), member('dave', -20, false, true)], micMuted: false });
  expect(play(s, { type: 'room-event', happening: { what: 'started', terms }, room: fresh }).effects).toEqual([
    { do: 'room-mute-member', member: 'bob', muted: true },
    { do: 'room-mute-member', member: 'dave', muted: false },
    { do: 'mute', muted: true },
  ]);
  // carol's key arrives: she is muted as soon as she is heard.
  const late = room({ members: [member('alice'), member('bob', -20, false, true), member('carol', -20, false, false)], micMuted: true });
  expect(play(s, { type: 'room-tick', room: late }).effects).toEqual([{ do: 'room-mute-member', member: 'carol', muted: true }]);
  const left = play(s, { type: 'room-event', happening: { what: 'left', name: 'bob', disconnected: false }, room: room() });
  expect(left.state).toMatchObject({ mutedHere: ['carol'] });
});

test('h leaves back to the menu; 0 and Ctrl-C leave, then quit', () => {
  const leaving = play(inRoom(), key('h'));
  expect(leaving).toEqual({ state: { kind: 'leaving-room', name: 'alice', room: 'den', quitAfter: false }, effects: [{ do: 'room-leave' }] });
  expect(plain(render(leaving.state, ctx))).toContain('Leaving room den…');
  expect(play(leaving, { type: 'room-ended', reason: 'left' }).state).toEqual({ kind: 'menu', name: 'alice', notice: 'You left room den.' });
  for (const e of [key('0'), special('ctrl-c'), { type: 'shutdown' } as UiEvent]) {
    const quitting = play(inRoom(), e);
    expect(quitting).toEqual({ state: { kind: 'leaving-room', name: 'alice', room: 'den', quitAfter: true }, effects: [{ do: 'room-leave' }] });
    expect(play(quitting, { type: 'room-ended', reason: 'left' }).effects).toEqual([{ do: 'exit', code: 0 }]);
  }
  // Ctrl-C while already leaving: quit once out.
  expect(play(leaving, special('ctrl-c'), { type: 'room-ended', reason: 'left' }).effects).toEqual([{ do: 'exit', code: 0 }]);
  // A custom hang-up key leaves too.
  expect(transition(inRoom(), key('x'), { hangupKey: 'x' }).effects).toEqual([{ do: 'room-leave' }]);
});

test('the room ending by itself is told at the menu; a lost server goes back to connecting', () => {
  expect(play(inRoom(), { type: 'room-ended', reason: 'disconnected' }).state).toEqual({
    kind: 'menu',
    name: 'alice',
    notice: 'Out of room den: the connection to the server dropped, and the room went on without you.',
  });
  expect(play(inRoom(), { type: 'room-ended', reason: 'failed', message: 'the microphone failed' }).state).toMatchObject({ notice: 'Out of room den: the microphone failed.' });
  const lost = play(inRoom(), { type: 'disconnected', reason: 'closed' });
  expect(lost).toEqual({ state: { kind: 'connecting', name: 'alice', notice: 'Lost the connection to the server (closed).' }, effects: [{ do: 'connect' }] });
});

test('? shows the room keys in full', () => {
  const help = play(inRoom(), key('?'));
  const screen = plain(render(help.state, ctx));
  expect(screen).toContain('1-9     mute or unmute that member here (the others still hear them)');
  expect(screen).toContain('Ctrl-C  leave the room and quit');
});

test('a call arriving while an id is typed waits, as on the lookup screen; one arriving later is declined', () => {
  const typing = play(menu, key('4'), key('y'), { type: 'incoming', from: 'bob', id: 'c1' });
  expect(typing.state).toMatchObject({ kind: 'room-id', input: 'y', caller: { from: 'bob', id: 'c1' } });
  expect(plain(render(typing.state, ctx))).toContain('bob is calling: finish or go back, then answer.');
  expect(play(typing, special('enter')).state).toEqual({ kind: 'incoming', name: 'alice', from: 'bob', id: 'c1' });
  expect(play(typing, { type: 'incoming-gone', id: 'c1', end: { reason: 'cancelled', byMe: false } }).state).toMatchObject({ kind: 'room-id', caller: undefined });
  expect(play(typing, special('ctrl-c')).effects).toEqual([{ do: 'decline', id: 'c1' }, { do: 'exit', code: 0 }]);
  expect(play({ kind: 'entering', name: 'alice', how: 'create' }, { type: 'incoming', from: 'bob', id: 'c2' }).effects).toEqual([{ do: 'decline', id: 'c2' }]);
});

test('the menu lists the room entries, devices moved to 5', () => {
  const screen = plain(render(menu, ctx));
  expect(screen).toContain('1  look up a user and call them\n  2  list who is online\n  3  create a room\n  4  join a room\n  5  choose the microphone and speaker\n  0  quit');
});
