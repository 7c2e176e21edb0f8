import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { pour, RawClient, useServerChild } from '../helpers/signaling';
import { waitFor } from '../helpers/wait';

/**
 * Single lines built to hurt: each goes to a real server in its own process, which must answer
 * with an error on that connection and carry on serving everyone else.
 */
jest.setTimeout(60_000);

const suite = useServerChild();
const register = (name: string) => suite.register(name);

/** A JSON object nested `depth` levels deep: about 6 bytes a level. */
function nested(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

describe('a body nested thousands deep', () => {
  test.each(['candidate', 'call', 'answer'])('in %s → too_large on that connection; the server stays up for others', async (type) => {
    const alice = await register(`alice-${type}`);
    const bob = await register(`bob-${type}`);
    const body = nested(5000);
    expect(body.length).toBeLessThan(64 * 1024);
    const line =
      type === 'call'
        ? `{"type":"call","to":"bob-${type}","req":1,"offer":${body}}`
        : type === 'answer'
          ? `{"type":"answer","call":"x","accept":true,"req":1,"answer":${body}}`
          : `{"type":"candidate","call":"x","req":1,"candidate":${body}}`;
    alice.sendRaw(line + '\n');
    // Refused on the text, before parsing: the req is not known, so none is echoed.
    expect(await alice.next(20_000)).toEqual({ type: 'error', code: 'too_large', message: 'nested deeper than 32 levels' });
    // The same connection and another both still get answers.
    alice.send({ type: 'ping', req: 2 });
    expect(await alice.next()).toEqual({ type: 'pong', req: 2 });
    bob.send({ type: 'ping', req: 3 });
    expect(await bob.next()).toEqual({ type: 'pong', req: 3 });
    expect(suite.server.alive).toBe(true);
  });

  test('before registering, in any field, and in an array → refused the same way', async () => {
    const c = await suite.connect();
    c.sendRaw(`{"type":"ping","req":1,"x":${nested(6000)}}\n`);
    expect(await c.next(20_000)).toEqual({ type: 'error', code: 'too_large', message: 'nested deeper than 32 levels' });
    c.sendRaw(`{"type":"lookup","name":"a","req":2,"x":${'['.repeat(20000)}${']'.repeat(20000)}}\n`);
    expect(await c.next(20_000)).toEqual({ type: 'error', code: 'too_large', message: 'nested deeper than 32 levels' });
    // 32 levels is still fine.
    c.sendRaw(`{"type":"ping","req":4,"x":${nested(31)}}\n`);
    expect(await c.next()).toEqual({ type: 'pong', req: 4 });
    c.send({ type: 'ping', req: 3 });
    expect(await c.next()).toEqual({ type: 'pong', req: 3 });
  });
});

test('a body of 16,000 "€" (48 KB in UTF-8, 16,000 UTF-16 units) is over the 16 KiB body limit', async () => {
  const a = await register('euro-a');
  await register('euro-b');
  a.send({ type: 'call', to: 'euro-b', offer: { pad: '€'.repeat(16_000) }, req: 'e' });
  expect(await a.next()).toMatchObject({ type: 'error', req: 'e', code: 'too_large' });
  // Just under the limit in bytes still passes.
  a.send({ type: 'call', to: 'euro-b', offer: { pad: '€'.repeat(5_000) }, req: 'f' });
  expect(await a.next()).toMatchObject({ type: 'ringing', req: 'f' });
});

test('an invalid req (a 60 KB string) is never echoed back', async () => {
  const c = await suite.connect();
  const req = 'r'.repeat(60_000);
  c.sendRaw(JSON.stringify({ type: 'dance', req }) + '\n');
  c.sendRaw(JSON.stringify({ type: 'ping', req }) + '\n');
  c.sendRaw(JSON.stringify({ type: 'ping', req: 1.5 }) + '\n');
  for (let i = 0; i < 3; i++) {
    const m = await c.next();
    expect(m).toMatchObject({ type: 'error', code: 'bad_request' });
    expect(m).not.toHaveProperty('req');
    expect(JSON.stringify(m).length).toBeLessThan(300);
  }
  // A valid req still is.
  c.sendRaw(JSON.stringify({ type: 'dance', req: 'ok' }) + '\n');
  expect(await c.next()).toMatchObject({ type: 'error', code: 'bad_request', req: 'ok' });
});

test('a connection cut off for bad lines that goes on sending costs nothing: what follows is dropped unread', async () => {
  const bystander = await register('bystander');
  const before = await suite.server.memory();
  // A peer that ignores the server closing its side and keeps writing, as fast as the socket takes it.
  const socket = net.connect({ host: '127.0.0.1', port: suite.server.port, allowHalfOpen: true });
  await waitFor(socket, 'connect');
  let heard = '';
  socket.on('data', (d) => (heard += d));
  let reset = false;
  socket.on('error', (err: NodeJS.ErrnoException) => (reset ||= err.code === 'ECONNRESET'));
  const closed = waitFor(socket, 'close', 60_000);
  // The twentieth bad line and more bytes in one segment, so the server has input left when it gives up.
  const chunk = Buffer.alloc(64 * 1024, 'y');
  socket.write(Buffer.concat([Buffer.from('garbage\n'.repeat(20)), chunk]));
  // Then more, until the server cuts it off for good (a write then meets a reset).
  const writing = pour(socket, chunk);
  // Meanwhile someone else's pings, one after another, until the server has cut the writer off.
  let worst = 0;
  let done = false;
  void closed.then(() => (done = true));
  for (let i = 0; !done; i++) {
    const t0 = performance.now();
    bystander.send({ type: 'ping', req: i });
    expect(await bystander.next(60_000)).toEqual({ type: 'pong', req: i });
    worst = Math.max(worst, performance.now() - t0);
  }
  await writing;
  // Told why, unless the reset that ends a peer still writing discarded the goodbye unread.
  if (!reset) expect(heard).toContain('"code":"too_many_errors"');
  process.stdout.write(`cut-off writer: bystander's worst ping ${worst.toFixed(1)} ms\n`);
  expect(worst).toBeLessThan(1000);
  const after = await suite.server.memory();
  expect(after.maxRss - before.maxRss).toBeLessThan(64 * 2 ** 20);
});
