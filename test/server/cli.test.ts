import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { RawClient } from '../helpers/signaling';

const BIN = path.join(__dirname, '../../bin/parley-server');

function start(args: string[]): { child: ChildProcess; out: () => string; err: () => string; port: Promise<number> } {
  const child = spawn(process.execPath, [BIN, '--host', '127.0.0.1', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const port = new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on TCP port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  return { child, out: () => out, err: () => err, port };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (c) => r(c))));
}

test('prints where to connect, logs readable lines, and SIGTERM tells clients before exiting 0', async () => {
  const s = start([]);
  const port = await s.port;
  expect(s.out()).toContain(`clients connect with: parley --server 127.0.0.1:${port}`);
  const c = await RawClient.register(port, 'alice');
  await new Promise((r) => setTimeout(r, 100));
  expect(s.err()).toMatch(/info {2}alice registered id=[0-9a-f]{32} from=127\.0\.0\.1:\d+/);
  s.child.kill('SIGTERM');
  await c.waitClosed();
  expect(c.received.at(-1)).toEqual({ type: 'error', code: 'server_shutdown', message: 'the server is shutting down' });
  expect(await exited(s.child)).toBe(0);
});

test('--log-json logs JSON lines', async () => {
  const s = start(['--log-json']);
  const port = await s.port;
  const c = await RawClient.register(port, 'bob');
  await c.close();
  s.child.kill('SIGINT');
  expect(await exited(s.child)).toBe(0);
  const lines = s.err().trim().split('\n').map((l) => JSON.parse(l));
  expect(lines).toEqual(expect.arrayContaining([expect.objectContaining({ level: 'info', msg: 'bob registered', id: expect.any(String) })]));
});

test('bad options → usage and exit 2; a port in use → a clear message and exit 1', async () => {
  const r = spawnSync(process.execPath, [BIN, '--port', 'abc'], { encoding: 'utf8' });
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('--port: not a port number: abc');
  expect(r.stderr).toContain('usage: parley-server');
  const s = start([]);
  const port = await s.port;
  const r2 = spawnSync(process.execPath, [BIN, '--host', '127.0.0.1', '--port', String(port)], { encoding: 'utf8' });
  expect(r2.status).toBe(1);
  expect(r2.stderr).toContain(`cannot listen on 127.0.0.1:${port}: listen EADDRINUSE`);
  s.child.kill();
  await exited(s.child);
});
