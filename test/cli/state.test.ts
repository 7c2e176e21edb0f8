/** The interactive client's state machine, event by event, without a terminal or a network. */
import type { CallReasonCode } from '../../src/client/call-reasons';
import { render } from '../../src/client/ui/screens';
import { initial, transition, type Key, type Step, type UiEvent, type UiState } from '../../src/client/ui/state';

const cfg = { hangupKey: 'h' };
const key = (text: string): UiEvent => ({ type: 'key', key: { name: 'char', text } });
const special = (name: Key['name']): UiEvent => ({ type: 'key', key: { name } });

function play(start: Step, ...events: UiEvent[]): Step {
  return events.reduce<Step>((step, e) => transition(step.state, e, cfg), start);
}

const menu: UiState = { kind: 'menu', name: 'alice' };
const call = { peer: 'bob', codec: 'opus', frameMs: 20, startedAt: 0, sas: 'ybndr', processing: 'echo cancellation (webrtc-apm); silence suppression' };
const inCall: UiState = { kind: 'in-call', name: 'alice', call, muted: false, help: false };

test('with --name it connects and registers; a taken name asks for another before connecting again', () => {
  const s = play(initial('bob'), { type: 'connected' });
  expect(s.effects).toEqual([{ do: 'register', name: 'bob' }]);
  const refused = play(s, { type: 'register-failed', name: 'bob', code: 'name_taken', message: '' });
  expect(refused.state).toMatchObject({ kind: 'naming', error: 'The name "bob" is taken. Choose another.' });
  // The unregistered connection is dropped: the server would close it while the person types.
  expect(refused.effects).toEqual([{ do: 'disconnect' }]);
  const typed = play(refused, key('c'), key('x'), special('backspace'), key('a'), special('enter'));
  expect(typed).toEqual({ state: { kind: 'connecting', name: 'ca' }, effects: [{ do: 'connect' }] });
  expect(play(typed, { type: 'connected' }).effects).toEqual([{ do: 'register', name: 'ca' }]);
});

test('without --name it asks for the name before it connects', () => {
  const s = initial();
  expect(s).toEqual({ state: { kind: 'naming', input: '' }, effects: [] });
});

test('unreachable offers retry or quit (exit 3)', () => {
  const down = play(initial('alice'), { type: 'connect-failed', message: 'refused' });
  expect(down.state.kind).toBe('unreachable');
  expect(play(down, key('r')).effects).toEqual([{ do: 'connect' }]);
  expect(play(down, key('q')).effects).toEqual([{ do: 'exit', code: 3 }]);
});

test('a lost server goes back to the start, keeping the registered name', () => {
  const s = transition(menu, { type: 'disconnected', reason: 'gone' }, cfg);
  expect(s.state).toMatchObject({ kind: 'connecting', name: 'alice', notice: 'Lost the connection to the server (gone).' });
  expect(s.effects).toEqual([{ do: 'connect' }]);
});

test('look up and call; each failure is told at the menu', () => {
  const s = play({ state: menu, effects: [] }, key('1'), key('b'), key('o'), key('b'), special('enter'));
  expect(s.effects).toEqual([{ do: 'lookup', target: 'bob' }]);
  const ringing = play(s, { type: 'found', user: { name: 'bob', status: 'idle' } });
  expect(ringing.effects).toEqual([{ do: 'call', to: 'bob' }]);
  for (const [reason, text] of [
    ['declined', 'bob declined the call.'],
    ['busy', 'bob is busy in another call.'],
    ['timeout', 'bob did not answer.'],
    ['not_found', 'bob is not online.'],
  ]) {
    const end = { reason: reason as CallReasonCode, byMe: false };
    expect(play(ringing, { type: 'call-failed', end }).state).toEqual({ kind: 'menu', name: 'alice', notice: text });
  }
  const missing = play(s, { type: 'request-failed', code: 'not_found', message: '' });
  expect(missing.state).toMatchObject({ kind: 'menu', notice: 'No one called "bob" is online.' });
});

test('an incoming call rings at the menu and is declined as busy elsewhere', () => {
  const ring = transition(menu, { type: 'incoming', from: 'bob', id: 'c1' }, cfg);
  expect(ring.state).toMatchObject({ kind: 'incoming', from: 'bob' });
  expect(transition(ring.state, key('y'), cfg).effects).toEqual([{ do: 'accept', id: 'c1' }]);
  expect(transition(ring.state, key('n'), cfg).effects).toEqual([{ do: 'decline', id: 'c1' }]);
  const gone = transition(ring.state, { type: 'incoming-gone', id: 'c1', end: { reason: 'cancelled', byMe: false } }, cfg);
  expect(gone.state).toMatchObject({ kind: 'menu', notice: 'bob hung up before you answered.' });
  expect(transition(inCall, { type: 'incoming', from: 'carol', id: 'c2' }, cfg).effects).toEqual([{ do: 'decline', id: 'c2' }]);
});

test('in a call: mute, help, the hang-up key; 0 and Ctrl-C hang up before exiting', () => {
  expect(transition(inCall, key('m'), cfg)).toMatchObject({ state: { muted: true }, effects: [{ do: 'mute', muted: true }] });
  expect(transition(inCall, key('?'), cfg).state).toMatchObject({ help: true });
  const hung = transition(inCall, key('h'), cfg);
  expect(hung.effects).toEqual([{ do: 'hangup' }]);
  expect(transition(hung.state, { type: 'call-ended', end: { reason: 'hangup', byMe: true }, now: 1 }, cfg).state.kind).toBe('menu');
  for (const e of [key('0'), special('ctrl-c'), { type: 'shutdown' } as UiEvent]) {
    const leaving = transition(inCall, e, cfg);
    expect(leaving.effects).toEqual([{ do: 'hangup' }]);
    expect(transition(leaving.state, { type: 'call-ended', end: { reason: 'hangup', byMe: true }, now: 1 }, cfg).effects).toEqual([
      { do: 'exit', code: 0 },
    ]);
  }
});

test('the other side hanging up or vanishing is told at the menu', () => {
  const ended = transition(inCall, { type: 'call-ended', end: { reason: 'peer_gone', byMe: false }, now: 65_000 }, cfg);
  expect(ended.state).toMatchObject({ kind: 'menu', notice: 'bob went away (connection lost). The call lasted 1:05.' });
});

test('a call arriving while a name is typed never takes the typed keys as an answer', () => {
  const typing = play({ state: menu, effects: [] }, key('1'), key('s'), key('a'));
  const rung = play(typing, { type: 'incoming', from: 'mallory', id: 'c9' }, key('y'), key('n'));
  // "y" and "n" went into the name, not to the call; the call waits, shown on the same screen.
  expect(rung.state).toMatchObject({ kind: 'lookup', input: 'sayn', caller: { from: 'mallory', id: 'c9' } });
  expect(rung.effects).toEqual([]);
  // Finishing the name asks about the call first, keeping what was typed for afterwards.
  const asked = play(rung, special('enter'));
  expect(asked.state).toMatchObject({ kind: 'incoming', from: 'mallory', id: 'c9', then: 'sayn' });
  const declined = play(asked, key('n'));
  expect(declined.effects).toEqual([{ do: 'decline', id: 'c9' }, { do: 'lookup', target: 'sayn' }]);
  // Going back instead asks at once; a caller who gives up while you type just disappears.
  expect(play(rung, special('escape')).state).toMatchObject({ kind: 'incoming', from: 'mallory' });
  const gaveUp = play(rung, { type: 'incoming-gone', id: 'c9', end: { reason: 'cancelled', byMe: false } });
  expect(gaveUp.state).toEqual({ kind: 'lookup', name: 'alice', input: 'sayn', caller: undefined });
});

test('cancel acts at once while ringing, and Ctrl-C while ringing cancels then exits without waiting for the ring to end', () => {
  const calling: UiState = { kind: 'calling', name: 'alice', to: 'bob', cancelling: false, quitAfter: false };
  const cancelled = transition(calling, special('escape'), cfg);
  expect(cancelled.effects).toEqual([{ do: 'cancel' }]);
  expect(transition(cancelled.state, { type: 'call-failed', end: { reason: 'cancelled', byMe: true } }, cfg).state).toMatchObject({
    kind: 'menu',
    notice: 'Call to bob cancelled.',
  });
  const leaving = transition(calling, special('ctrl-c'), cfg);
  expect(leaving.effects).toEqual([{ do: 'cancel' }]);
  expect(transition(leaving.state, { type: 'call-failed', end: { reason: 'cancelled', byMe: true } }, cfg).effects).toEqual([
    { do: 'exit', code: 0 },
  ]);
});

test('the end-of-call notice says how the received audio fared', () => {
  const live = {
    now: 10_000,
    inputDb: -20,
    outputDb: -20,
    rttMs: 1,
    jitterMs: 0.5,
    lossPct: 1,
    bufferMs: 12,
    targetMs: 10,
    concealedMs: 20,
    insertedMs: 35.4,
    removedMs: 30.2,
    recovered: 2,
    deviceInputMs: null,
    deviceOutputMs: 31,
    deviceOutputUnderruns: 2,
    sent: 500,
    received: 495,
    path: 'direct (host) to 127.0.0.1:40000',
    talkingLocal: false,
    talkingRemote: true,
  };
  const talking = transition(inCall, { type: 'tick', live }, cfg).state;
  // eslint-disable-next-line no-control-regex
  const screen = render(talking, { ...cfg, server: 's' }).join('\n').replace(/\x1b\[\d+m/g, '');
  expect(screen).toMatch(/Voice +echo cancellation \(webrtc-apm\); silence suppression/);
  expect(screen).toMatch(/Speaker .*dBFS  talking/);
  expect(screen).not.toMatch(/Mic .*talking/);
  expect(screen).toMatch(/devices: capture -, playback 31 ms \(ran dry 2×\)/);
  const ended = transition(talking, { type: 'call-ended', end: { reason: 'peer_gone', byMe: false }, now: 65_000 }, cfg);
  expect(ended.state).toMatchObject({
    kind: 'menu',
    notice: 'bob went away (connection lost). The call lasted 1:05.\nAudio: recovered 2 frames, concealed 20 ms, stretched +35 / -30 ms.',
  });
});

test("a changed identity key: the warning stays with the refusal, or on the call screen when the key was taken", () => {
  const calling: UiState = { kind: 'calling', name: 'alice', to: 'bob', cancelling: false, quitAfter: false };
  const warned = transition(calling, { type: 'notice', text: "WARNING: bob's identity key has changed!" }, cfg).state;
  const refused = transition(warned, { type: 'call-failed', end: { reason: 'failed', cause: 'identity_changed', byMe: true } }, cfg).state;
  expect(refused).toMatchObject({ kind: 'menu', notice: expect.stringMatching(/^WARNING: bob's identity key has changed!\nCould not call bob: bob's identity key is not the one remembered/) });
  const taken = transition(warned, { type: 'call-connected', call }, cfg).state;
  expect(taken).toMatchObject({ kind: 'in-call', warning: "WARNING: bob's identity key has changed!" });
  // eslint-disable-next-line no-control-regex
  expect(render(taken, { ...cfg, server: 's' }).join('\n').replace(/\x1b\[\d+m/g, '')).toMatch(/SAS .*ybndr[\s\S]*WARNING: bob's identity key has changed!/);
});

test('plaintext signaling is said with the registration; the server going away and back is said on the call screen', () => {
  const registering: UiState = { kind: 'registering', name: 'alice' };
  expect(transition(registering, { type: 'registered', name: 'alice', secure: false }, cfg).state).toMatchObject({
    kind: 'menu',
    notice: expect.stringMatching(/^Registered as alice\.\nNote: the connection to the server is not encrypted/),
  });
  expect(transition(registering, { type: 'registered', name: 'alice', secure: true }, cfg).state).toMatchObject({ notice: 'Registered as alice.' });
  const lost = transition(inCall, { type: 'notice', text: 'Lost the server: reconnecting; a call goes on.' }, cfg).state;
  expect(lost).toMatchObject({ kind: 'in-call', server: 'Lost the server: reconnecting; a call goes on.' });
  expect(transition(lost, { type: 'notice', text: 'Back on the server.' }, cfg).state).toMatchObject({ kind: 'in-call', server: 'Back on the server.' });
});
