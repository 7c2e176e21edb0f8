/**
 * The interactive client in a real pseudo-terminal (tmux): keys typed as a person would,
 * the screen read back.
 */
import type { ChildProcess } from 'node:child_process';
import type { CallEnd, Phone } from '../../src/client/phone';
import type { RunningServer } from '../../src';
import { RawClient, testServer } from '../helpers/signaling';
import { delay, waitUntil } from '../helpers/wait';
import { PARLEY, run, serverProcess } from './helpers/parley';
import { peer } from './helpers/peers';
import { TmuxScreen } from './helpers/tmux';

jest.setTimeout(45_000);

let server: RunningServer;
const screens: TmuxScreen[] = [];
const phones: Phone[] = [];
const children: ChildProcess[] = [];

beforeEach(async () => {
  server = await testServer({ ringTimeoutMs: 20_000 });
});

afterEach(async () => {
  screens.splice(0).forEach((s) => s.kill());
  await Promise.all(phones.splice(0).map((p) => p.close().catch(() => undefined)));
  children.splice(0).forEach((c) => c.kill('SIGKILL'));
  await server.close();
});

function parley(label: string, port: number, ...args: string[]): TmuxScreen {
  const s = TmuxScreen.start(label, [process.execPath, PARLEY, '--server', `127.0.0.1:${port}`, '--output', 'null', ...args]);
  screens.push(s);
  return s;
}

/** Menu 1, a name, Enter: as a person places a call. */
function dial(screen: TmuxScreen, name: string): void {
  screen.send('1');
  screen.type(name);
  screen.send('Enter');
}

/** Whether `name` is free on the server: registering it succeeds. */
async function nameIsFree(port: number, name: string): Promise<boolean> {
  const c = await RawClient.connect(port);
  c.send({ type: 'hello', version: 1, name });
  const reply = await c.next();
  await c.close();
  return reply.type === 'welcome';
}

test('asks for a name, re-asks when it is taken, lists users, reports an unknown user, quits with 0', async () => {
  phones.push(await peer(server.port, 'bob', 'ignore'));
  const s = parley('register', server.port, '--input', 'tone:440');
  await s.waitFor('Your name:');
  s.type('bob');
  s.send('Enter');
  await s.waitFor('The name "bob" is taken. Choose another.');
  s.type('carol');
  s.send('Enter');
  await s.waitFor('Registered as carol.');
  s.send('2');
  await s.waitFor(/Online \(1\):\s+bob\s+idle/);
  s.send('1');
  await s.waitFor('Call whom?');
  s.type('nobody');
  s.send('Enter');
  await s.waitFor('No one called "nobody" is online.');
  await s.waitFor('1  look up a user and call them');
  s.send('0');
  expect(await s.waitExit()).toBe(0);
  expect(s.screen()).not.toMatch(/Error|at .*\.js:\d+/);
});

test('alice calls bob, bob answers Y at the menu, they talk, alice hangs up with her key', async () => {
  const bob = parley('bob', server.port, '--name', 'bob', '--input', 'tone:660');
  await bob.waitFor('Registered as bob.');
  const alice = parley('alice', server.port, '--name', 'alice', '--input', 'tone:440', '--hangup-key', 'x');
  await alice.waitFor('Registered as alice.');
  dial(alice, 'bob');
  await alice.waitFor('Calling bob…');
  await alice.waitFor('x or Esc cancel');
  await bob.waitFor('alice is calling — answer? [Y/N]');
  bob.send('y');
  const screen = await alice.waitFor(/In a call with bob\s+0:\d\d/);
  expect(screen).toMatch(/Codec\s+(opus|pcm)/);
  expect(screen).toContain('x hang up');
  // Packets flowing and a level on the speaker meter: the talk is real.
  await alice.waitFor(/packets \d+ sent \/ [1-9]\d* received/);
  await alice.waitFor(/Speaker\s+\[#+-*\]\s+-\d+ dBFS/);
  await bob.waitFor('In a call with alice');
  alice.send('m');
  await alice.waitFor('MUTED');
  alice.send('?');
  await alice.waitFor('mute or unmute your microphone');
  alice.send('x');
  await alice.waitFor('You hung up on bob.');
  await bob.waitFor(/alice hung up\. The call lasted 0:\d\d\./);
  await bob.waitFor('Choose:');
});

test('bob answers N: alice is told it was declined and is back at the menu', async () => {
  const bob = parley('bob', server.port, '--name', 'bob');
  await bob.waitFor('Registered as bob.');
  const alice = parley('alice', server.port, '--name', 'alice', '--input', 'tone:440');
  await alice.waitFor('Registered as alice.');
  dial(alice, 'bob');
  await bob.waitFor('alice is calling — answer? [Y/N]');
  bob.send('n');
  await bob.waitFor('You declined the call from alice.');
  await alice.waitFor('bob declined the call.');
  await alice.waitFor('1  look up a user and call them');
});

test('Ctrl-C in a call hangs up first, then quits cleanly', async () => {
  const bob = run(['answer', '--auto', '--name', 'bob', '--max-calls', '1', '--json', '--server', `127.0.0.1:${server.port}`]);
  children.push(bob.child);
  await bob.waitOut('"event":"waiting"');
  const alice = parley('alice', server.port, '--name', 'alice', '--input', 'tone:440');
  await alice.waitFor('Registered as alice.');
  dial(alice, 'bob');
  await alice.waitFor(/packets \d+ sent/);
  alice.send('C-c');
  expect(await alice.waitExit()).toBe(0);
  expect(await bob.exited).toBe(0);
  expect(bob.out()).toMatch(/"event":"ended".*"reason":"hangup","by":"peer"/);
  await waitUntil(() => nameIsFree(server.port, 'alice'), 'alice is freed');
});

test('a call arriving while at the menu can be answered from there', async () => {
  const bob = parley('bob', server.port, '--name', 'bob', '--input', 'tone:660');
  await bob.waitFor('Choose:');
  const alice = await peer(server.port, 'alice', 'ignore');
  phones.push(alice);
  const outgoing = alice.call('bob', { input: 'tone:440', output: 'null' });
  await bob.waitFor('alice is calling — answer? [Y/N]');
  bob.send('Y');
  const call = await outgoing.result;
  await bob.waitFor(/In a call with alice/);
  await call.hangup();
  await bob.waitFor(/alice hung up/);
});

test('the server killed mid-session: back in by itself when it returns; given up on after --reconnect, told and offered a retry', async () => {
  const first = await serverProcess();
  children.push(first.child);
  const alice = parley('alice', first.port, '--name', 'alice', '--reconnect', '3');
  await alice.waitFor('Registered as alice.');
  first.child.kill('SIGKILL');
  await alice.waitFor('Lost the server');
  const second = await serverProcess(first.port);
  children.push(second.child);
  await alice.waitFor('Back on the server (it had restarted');
  second.child.kill('SIGKILL');
  await alice.waitFor('Lost the connection to the server');
  await alice.waitFor('Retry? [R/Q]');
  alice.send('q');
  expect(await alice.waitExit()).toBe(3);
});

test('the terminal going away ends the client and frees its name', async () => {
  const alice = parley('alice', server.port, '--name', 'alice');
  await alice.waitFor('Registered as alice.');
  expect(await nameIsFree(server.port, 'alice')).toBe(false);
  alice.kill();
  await waitUntil(() => nameIsFree(server.port, 'alice'), 'alice is freed after the terminal closed');
});

test('Esc while it rings cancels at once: the callee stops ringing long before the ring timeout', async () => {
  const bob = await peer(server.port, 'bob', 'ignore');
  phones.push(bob);
  const bobTold = new Promise<CallEnd>((resolve) => bob.once('incoming', (c) => c.once('ended', resolve)));
  const alice = parley('alice', server.port, '--name', 'alice', '--input', 'tone:440', '--hangup-key', 'x');
  await alice.waitFor('Registered as alice.');
  dial(alice, 'bob');
  await alice.waitFor('x or Esc cancel');
  alice.send('Escape');
  await alice.waitFor('Call to bob cancelled.');
  // Told "cancelled", which only the caller's cancel says; the server's 20 s timeout would say "timeout".
  expect(await bobTold).toMatchObject({ reason: 'cancelled' });
  await alice.waitFor('1  look up a user and call them');
});

test('Ctrl-C while it rings cancels the call and quits at once', async () => {
  const bob = await peer(server.port, 'bob', 'ignore');
  phones.push(bob);
  const bobTold = new Promise<CallEnd>((resolve) => bob.once('incoming', (c) => c.once('ended', resolve)));
  const alice = parley('alice', server.port, '--name', 'alice', '--input', 'tone:440');
  await alice.waitFor('Registered as alice.');
  dial(alice, 'bob');
  await alice.waitFor('Calling bob…');
  alice.send('C-c');
  expect(await bobTold).toMatchObject({ reason: 'cancelled' });
  expect(await alice.waitExit()).toBe(0);
});

test('a call arriving while a name is being typed does not take the keys: it asks once the typing is done', async () => {
  const alice = parley('alice', server.port, '--name', 'alice', '--input', 'tone:440');
  await alice.waitFor('Registered as alice.');
  alice.send('1');
  alice.type('sa');
  await alice.waitFor('Name: sa');
  const mallory = await peer(server.port, 'mallory', 'ignore');
  phones.push(mallory);
  const outgoing = mallory.call('alice', { input: 'tone:660', output: 'null' });
  await alice.waitFor('mallory is calling: finish or go back, then answer.');
  // A name with a "y" in it: typed, not taken as "yes".
  alice.type('lly');
  await alice.waitFor('Name: sally');
  expect(alice.screen()).not.toContain('In a call');
  alice.send('Escape');
  await alice.waitFor('mallory is calling — answer? [Y/N]');
  alice.send('n');
  await expect(outgoing.result).rejects.toMatchObject({ reason: 'declined' });
  await alice.waitFor('You declined the call from mallory.');
});

test('a person may take longer to choose a name than the server waits for an unregistered connection', async () => {
  const strict = await testServer({ limits: { registrationTimeoutMs: 300 } });
  try {
    const alice = parley('alice', strict.port);
    await alice.waitFor('Your name:');
    // Longer than the server's registration window: nothing is connected while the name is typed.
    await delay(1000);
    alice.type('alice');
    alice.send('Enter');
    await alice.waitFor('Registered as alice.');
    expect(alice.screen()).not.toContain('Lost the connection');
  } finally {
    await strict.close();
  }
});
