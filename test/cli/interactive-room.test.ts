/**
 * A room in the interactive client, in a real pseudo-terminal (tmux), with a real server and a
 * scripted member (`parley room join`) in it.
 */
import type { ChildProcess } from 'node:child_process';
import type { RunningServer } from '../../src';
import { testServer } from '../helpers/signaling';
import { PARLEY, run, serverProcess } from './helpers/parley';
import { TmuxScreen } from './helpers/tmux';

// Two clients, a server and real media on what may be a busy machine.
jest.setTimeout(120_000);
const SLOW = 45_000;

let server: RunningServer;
const screens: TmuxScreen[] = [];
const children: ChildProcess[] = [];

beforeEach(async () => {
  server = await testServer();
});

afterEach(async () => {
  screens.splice(0).forEach((s) => s.kill());
  children.splice(0).forEach((c) => c.kill('SIGKILL'));
  await server.close();
});

test('alice creates a room by id, x joins, alice starts it, mutes x here, and leaves back to the menu', async () => {
  const alice = TmuxScreen.start('alice', [process.execPath, PARLEY, '--server', `127.0.0.1:${server.port}`, '--name', 'alice', '--input', 'tone:440', '--output', 'null']);
  screens.push(alice);
  await alice.waitFor('3  create a room', SLOW);
  alice.send('3');
  await alice.waitFor('Room id:', SLOW);
  alice.type('den');
  alice.send('Enter');
  await alice.waitFor(/Room\s+den\s+\(share this id/, SLOW);
  await alice.waitFor('waiting for you to start it', SLOW);
  await alice.waitFor('Created room den.', SLOW);

  const x = run(['room', 'join', 'den', '--name', 'x', '--input', 'tone:600', '--output', 'null', '--json', '--server', `127.0.0.1:${server.port}`]);
  children.push(x.child);
  await x.waitOut('"event":"joined"', SLOW);
  await alice.waitFor('x joined.', SLOW);
  await alice.waitFor(/Members \(2\):\s+alice .*\(you\) \(owner\)\s+1\s+x /, SLOW);

  alice.send('s');
  await alice.waitFor(/Phase\s+running: (opus|pcm) at \d+ ms frames/, SLOW);
  await x.waitOut('"event":"started"', SLOW);
  // x's tone reaches alice's side: its meter moves.
  await alice.waitFor(/1\s+x\s+\[#+-*\]\s+-\d+ dBFS/, SLOW);

  alice.send('1');
  await alice.waitFor(/1\s+x\s+\[[#-]+\].*\(muted here\)/, SLOW);
  // Muted here means not mixed: the speaker goes quiet while x's own meter still moves.
  await alice.waitFor(/Speaker\s+\[-+\]\s+- dBFS/, SLOW);

  alice.send('h');
  await alice.waitFor('You left room den.', SLOW);
  await alice.waitFor('Choose:', SLOW);
  await x.waitOut(/"event":"member_left".*"name":"alice"/, SLOW);
  await x.waitOut(/"event":"owner".*"name":"x"/, SLOW);

  alice.send('0');
  expect(await alice.waitExit(SLOW)).toBe(0);
  expect(alice.screen()).not.toMatch(/Error|at .*\.js:\d+/);
});

test('creating a room that exists is refused at the menu; 4 joins it, the owner starts it, s is refused, the owner leaving makes bob the owner', async () => {
  const x = run(['room', 'create', 'den', '--name', 'x', '--start-at', '2', '--input', 'tone:600', '--output', 'null', '--json', '--server', `127.0.0.1:${server.port}`]);
  children.push(x.child);
  await x.waitOut('"event":"joined"', SLOW);
  const bob = TmuxScreen.start('bob', [process.execPath, PARLEY, '--server', `127.0.0.1:${server.port}`, '--name', 'bob', '--input', 'tone:440', '--output', 'null']);
  screens.push(bob);
  await bob.waitFor('3  create a room', SLOW);
  bob.send('3');
  bob.type('den');
  bob.send('Enter');
  await bob.waitFor('There is already a room "den": join it with 4 instead.', SLOW);
  await bob.waitFor('Choose:', SLOW);

  bob.send('4');
  await bob.waitFor('Join which room?', SLOW);
  bob.type('den');
  bob.send('Enter');
  await bob.waitFor('Joined room den.', SLOW);
  await bob.waitFor(/Members \(2\):\s+1\s+x .*\(owner\)\s+bob .*\(you\)/, SLOW);
  // x starts at two members.
  await bob.waitFor(/Phase\s+running: (opus|pcm) at \d+ ms frames/, SLOW);
  bob.send('s');
  await bob.waitFor('Only the owner (x) can start the room.', SLOW);

  x.child.kill('SIGTERM');
  await bob.waitFor('x left.', SLOW);
  await bob.waitFor('You are the owner now: s starts the room.', SLOW);
  expect(await bob.waitFor(/Members \(1\):\s+bob .*\(you\) \(owner\)/, SLOW)).not.toContain('Only the owner');
  bob.send('C-c');
  expect(await bob.waitExit(SLOW)).toBe(0);
});

test('the server going away ends the room: told at the menu, back in once the server returns', async () => {
  const first = await serverProcess();
  children.push(first.child);
  const alice = TmuxScreen.start('alice', [process.execPath, PARLEY, '--server', `127.0.0.1:${first.port}`, '--name', 'alice', '--input', 'tone:440', '--output', 'null']);
  screens.push(alice);
  await alice.waitFor('3  create a room', SLOW);
  alice.send('3');
  alice.send('Enter');
  // The server minted the id.
  await alice.waitFor(/Created room [\w.-]+\./, SLOW);
  first.child.kill('SIGKILL');
  await alice.waitFor(/Out of room [\w.-]+: the connection to the server dropped, and the room went on without you\./, SLOW);
  await alice.waitFor('Choose:', SLOW);
  const second = await serverProcess(first.port);
  children.push(second.child);
  await alice.waitFor('Back on the server', SLOW);
  alice.send('3');
  alice.type('den');
  alice.send('Enter');
  await alice.waitFor('Created room den.', SLOW);
  alice.send('0');
  expect(await alice.waitExit(SLOW)).toBe(0);
});
