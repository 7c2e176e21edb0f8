import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { join, memberKey } from '../helpers/rooms';
import { RawClient } from '../helpers/signaling';

/** parley-server as users run it (the built code: `npm run build` first), with the room flags. */
jest.setTimeout(60_000);

const BIN = path.join(__dirname, '../../bin/parley-server');
const children: ChildProcess[] = [];
const clients: RawClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.socket.destroy();
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

async function serve(args: string[]): Promise<{ port: number; out: string }> {
  const child = spawn(BIN, ['--host', '127.0.0.1', '--port', '0', '--log-level', 'error', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on TCP port (\d+).*\n/.exec(out);
      if (m) resolve({ port: Number(m[1]), out });
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}`)));
  });
}

async function member(port: number, name: string): Promise<RawClient> {
  const c = await RawClient.register(port, name);
  clients.push(c);
  return c;
}

test('--max-room-members caps a room; --no-forward gives no forward credentials', async () => {
  const { port, out } = await serve(['--max-room-members', '2', '--no-forward']);
  expect(out).not.toMatch(/room forwarder/);
  const a = await member(port, 'alice');
  expect(await join(a, 'r', 'alice')).not.toHaveProperty('forward');
  await join(await member(port, 'bob'), 'r', 'bob');
  const c = await member(port, 'carol');
  c.send({ type: 'room.join', room: 'r', key: memberKey('carol') });
  expect(await c.next()).toMatchObject({ type: 'error', code: 'room_full' });
});

test('--max-rooms caps the rooms; by default the forwarder runs and says so', async () => {
  const { port, out } = await serve(['--max-rooms', '1']);
  expect(out).toMatch(/UDP \d+: STUN and TURN, room forwarder/);
  const a = await member(port, 'alice');
  expect(await join(a, 'one', 'alice')).toMatchObject({ forward: { username: expect.any(String), password: expect.any(String) } });
  const b = await member(port, 'bob');
  b.send({ type: 'room.create', key: memberKey('bob') });
  expect(await b.next()).toMatchObject({ type: 'error', code: 'too_many_rooms' });
});
