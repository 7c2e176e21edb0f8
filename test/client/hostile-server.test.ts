/**
 * The client against a server that sends what it likes: terminal escapes in names, messages
 * nested thousands deep. Each is a real `parley` process talking to a fake server on loopback.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { LineDecoder } from '../../src/protocol';
import { EXIT } from '../../src/client/exit-codes';
import { run } from '../cli/helpers/parley';
import { waitFor } from '../helpers/wait';

jest.setTimeout(30_000);

type Script = (msg: Record<string, unknown>, reply: (line: string) => void) => void;

/** A fake parley server: answers hello with welcome, challenge as an older server would, the rest as `script` says. */
async function fakeServer(script: Script): Promise<{ port: number; close: () => Promise<void>; client: () => Promise<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const registered = new EventEmitter();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const decoder = new LineDecoder();
    const reply = (line: string) => socket.write(line + '\n');
    socket.on('data', (chunk) =>
      decoder.push(chunk, (ev) => {
        if (ev.kind !== 'line') return;
        const msg = JSON.parse(ev.line) as Record<string, unknown>;
        if (msg.type === 'hello') {
          reply(JSON.stringify({ type: 'welcome', req: msg.req, id: 'x', name: msg.name, udpPort: 1, version: 1 }));
          registered.emit('client', socket);
        } else if (msg.type === 'ping') {
          reply(JSON.stringify({ type: 'pong', req: msg.req }));
        } else if (msg.type === 'challenge') {
          // As a server from before name claims: an unknown request; the client then says a plain hello.
          reply(JSON.stringify({ type: 'error', req: msg.req, code: 'bad_request', message: 'unknown type' }));
        } else script(msg, reply);
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const first = waitFor<[net.Socket]>(registered, 'client');
  return {
    port: (server.address() as net.AddressInfo).port,
    client: async () => (await first)[0],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

test('names with terminal escapes are shown with the escapes defused', async () => {
  const evil = '\x1b[2J\x1b]0;pwned\x07bob\u202egnp.exe';
  const server = await fakeServer((msg, reply) => {
    if (msg.type === 'list') reply(JSON.stringify({ type: 'users', req: msg.req, users: [{ name: evil, status: 'idle' }] }));
  });
  try {
    const r = run(['users', '--server', `127.0.0.1:${server.port}`]);
    expect(await r.exited).toBe(EXIT.ok);
    expect(r.out()).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f\u202e]/);
    expect(r.out()).toBe('\ufffd[2J\ufffd]0;pwned\ufffdbob\ufffdgnp.exe\tidle\n');
  } finally {
    await server.close();
  }
});

test('a message nested thousands deep costs that line only: the client goes on answering calls', async () => {
  let deep = '{}';
  for (let i = 0; i < 6000; i++) deep = `{"a":${deep}}`;
  const server = await fakeServer(() => undefined);
  const answering = run(['answer', '--auto', '--name', 'bob', '--json', '--server', `127.0.0.1:${server.port}`]);
  try {
    await answering.waitOut('"event":"waiting"');
    // The bomb, then a real call: the client must survive the first and refuse the second as
    // incompatible (its offer is empty), which proves it is still reading.
    const client = await server.client();
    client.write(`{"type":"incoming","call":"c1","from":"mallory","offer":${deep}}\n`);
    client.write(`{"type":"incoming","call":"c2","from":"alice","offer":{}}\n`);
    await answering.waitOut('"event":"refused"');
    expect(answering.child.exitCode).toBeNull();
  } finally {
    answering.child.kill('SIGTERM');
    await answering.exited;
    await server.close();
  }
});
