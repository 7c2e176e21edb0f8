/** The interactive client's device screen, event by event: list, pick a microphone, pick a speaker. */
import type { DeviceList } from '../../src/audio';
import { render } from '../../src/client/ui/screens';
import { transition, type Key, type Step, type UiEvent, type UiState } from '../../src/client/ui/state';
import { deviceChoices } from '../../src/client/views/device-choices';

const cfg = { hangupKey: 'h' };
const key = (text: string): UiEvent => ({ type: 'key', key: { name: 'char', text } });
const special = (name: Key['name']): UiEvent => ({ type: 'key', key: { name } });
const play = (start: Step, ...events: UiEvent[]) => events.reduce<Step>((step, e) => transition(step.state, e, cfg), start);
const menu: UiState = { kind: 'menu', name: 'alice' };
const plain = (lines: string[]) => lines.join('\n').replace(/\x1b\[\d+m/g, '');

const list: DeviceList = {
  server: 'pulseaudio 16.1',
  notes: [],
  devices: [
    { role: 'playback', system: 'pulse', name: 'desk', description: 'Desk', isDefault: true },
    { role: 'capture', system: 'pulse', name: 'desk.monitor', description: 'Monitor of Desk', isDefault: false, monitor: true },
    { role: 'capture', system: 'pulse', name: 'sine', description: 'Sine source', isDefault: true },
    { role: 'playback', system: 'alsa', name: 'default', description: "ALSA's default device", isDefault: true },
    { role: 'playback', system: 'alsa', name: 'null', description: 'Discard all samples', isDefault: false },
  ],
};

test('the choices: the default first, then each device as the spec that picks it', () => {
  expect(deviceChoices(list)).toEqual({
    inputs: [
      { spec: 'mic', label: 'the default device' },
      { spec: 'mic:desk.monitor', label: 'Monitor of Desk (PulseAudio, monitor)' },
      { spec: 'mic:sine', label: 'Sine source (PulseAudio, default)' },
    ],
    outputs: [
      { spec: 'speaker', label: 'the default device' },
      { spec: 'speaker:desk', label: 'Desk (PulseAudio, default)' },
      { spec: 'speaker:null', label: 'Discard all samples (ALSA)' },
    ],
  });
});

test('5 at the menu lists the devices; a number and Enter pick the microphone, then the speaker', () => {
  const asked = play({ state: menu, effects: [] }, key('5'));
  expect(asked).toEqual({ state: { kind: 'devices', name: 'alice', input: '' }, effects: [{ do: 'list-devices' }] });
  expect(plain(render(asked.state, { server: 's', hangupKey: 'h' }))).toContain('Looking for devices…');
  const listed = play(asked, { type: 'devices', choices: deviceChoices(list) });
  const screen = plain(render(listed.state, { server: 's', hangupKey: 'h' }));
  expect(screen).toMatch(/Choose the microphone \(input\): \(Enter to choose, Esc to go back/);
  expect(screen).toMatch(/^ {3}3 {2}mic:sine +Sine source \(PulseAudio, default\)$/m);
  // Letters are ignored, a number out of range is refused.
  const wrong = play(listed, key('x'), key('9'), special('enter'));
  expect(wrong.state).toMatchObject({ kind: 'devices', input: '', error: 'Type a number from 1 to 3.' });
  const mic = play(wrong, key('3'), special('enter'));
  expect(mic.state).toMatchObject({ kind: 'devices', picked: 'mic:sine', input: '' });
  expect(plain(render(mic.state, { server: 's', hangupKey: 'h' }))).toMatch(/Microphone: mic:sine\n\nChoose the speaker \(output\)/);
  const done = play(mic, key('2'), special('enter'));
  expect(done).toEqual({
    state: { kind: 'menu', name: 'alice', notice: 'Calls will use mic:sine and speaker:desk.' },
    effects: [{ do: 'use-devices', input: 'mic:sine', output: 'speaker:desk' }],
  });
});

test('Esc goes back with nothing changed; a failed listing is told at the menu; a call arriving wins', () => {
  const listed = play({ state: menu, effects: [] }, key('5'), { type: 'devices', choices: deviceChoices(list) });
  expect(play(listed, special('escape'))).toEqual({ state: menu, effects: [] });
  const failed = play({ state: menu, effects: [] }, key('5'), { type: 'devices-failed', message: 'no aplay' });
  expect(failed.state).toEqual({ kind: 'menu', name: 'alice', notice: 'Could not list the devices: no aplay' });
  const rung = play(listed, { type: 'incoming', from: 'bob', id: 'c1' });
  expect(rung.state).toEqual({ kind: 'incoming', name: 'alice', from: 'bob', id: 'c1' });
});
