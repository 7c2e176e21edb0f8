import { MemoryRegistry } from '../../src/server';
import { useTestServer } from '../helpers/signaling';
import { waitUntil } from '../helpers/wait';
import { ManualClock } from './manual-clock';

const clock = new ManualClock();
const t = useTestServer({ clock });
const registered = t.registered;
const connect = t.connect;

describe('bad input', () => {
  test.each([
    ['invalid JSON', '{"type":"hello",', 'bad_request', 'invalid JSON'],
    ['not an object', '[1,2,3]', 'bad_request', 'a message must be a JSON object'],
    ['a bare string', '"hello"', 'bad_request', 'a message must be a JSON object'],
    ['no type', '{"name":"x"}', 'bad_request', 'missing "type"'],
    ['unknown type', '{"type":"dance","req":9}', 'bad_request', 'unknown type "dance"'],
    ['prototype key as type', '{"type":"__proto__"}', 'bad_request', 'unknown type "__proto__"'],
    ['wrong field type', '{"type":"hello","version":"1","name":"x","req":"w"}', 'bad_request', expect.stringMatching(/^hello: version: /)],
    ['missing field', '{"type":"lookup"}', 'bad_request', expect.stringMatching(/^lookup: name: /)],
  ])('%s → error, connection stays', async (_what, line, code, message) => {
    const c = await connect();
    c.sendRaw(line + '\n');
    const m = await c.next();
    expect(m).toMatchObject({ type: 'error', code, message });
    if (line.includes('"req":9')) expect(m.req).toBe(9);
    if (line.includes('"req":"w"')) expect(m.req).toBe('w');
    c.send({ type: 'hello', version: 1, name: 'still-here' });
    expect(await c.next()).toMatchObject({ type: 'welcome' });
  });

  test('a line over 64 KiB → too_large, without buffering it, and the next line is read normally', async () => {
    const c = await connect();
    const huge = Buffer.alloc(200 * 1024, 'a');
    // Sent in pieces: the server must not wait for the newline holding all of it.
    for (let i = 0; i < huge.length; i += 16 * 1024) c.sendRaw(huge.subarray(i, i + 16 * 1024));
    c.sendRaw('\n{"type":"ping","req":1}\n');
    expect(await c.next()).toEqual({ type: 'error', code: 'too_large', message: `line of ${huge.length} bytes is over the limit` });
    expect(await c.next()).toEqual({ type: 'pong', req: 1 });
  });

  test('a line split across many packets and CRLF endings are read as one message', async () => {
    const c = await connect();
    const line = JSON.stringify({ type: 'hello', version: 1, name: 'split' }) + '\r\n';
    for (const ch of line) c.sendRaw(ch);
    expect(await c.next()).toMatchObject({ type: 'welcome', name: 'split' });
  });

  test('multi-byte UTF-8 split across packets survives', async () => {
    const c = await connect();
    const buf = Buffer.from(JSON.stringify({ type: 'lookup', name: 'zoë-ünïcødé', req: 1 }) + '\n');
    c.send({ type: 'hello', version: 1, name: 'u' });
    await c.next();
    for (let i = 0; i < buf.length; i++) c.sendRaw(buf.subarray(i, i + 1));
    expect(await c.next()).toMatchObject({ type: 'error', code: 'not_found', message: 'no user named "zoë-ünïcødé" is online' });
  });

  test('20 bad lines in a row → a final too_many_errors and the connection closes; good lines reset the count', async () => {
    const c = await connect();
    for (let i = 0; i < 19; i++) c.sendRaw('garbage\n');
    c.send({ type: 'ping' });
    for (let i = 0; i < 19; i++) c.sendRaw('garbage\n');
    await waitUntil(() => c.received.length === 19 + 1 + 19, 'the server answered every line');
    expect(c.closed).toBe(false);
    c.sendRaw('garbage\n');
    await c.waitClosed();
    expect(c.received).toHaveLength(19 + 1 + 19 + 1);
    expect(c.received.at(-1)).toEqual({
      type: 'error',
      code: 'too_many_errors',
      message: '20 bad lines in a row (last: invalid JSON); closing the connection',
    });
  });

  test('requests that make no sense in the state count as bad lines; outcomes such as not_found do not', async () => {
    const c = await connect();
    c.send({ type: 'hello', version: 1, name: 'striker' });
    await c.next();
    for (let i = 0; i < 25; i++) c.send({ type: 'lookup', name: 'ghost' });
    for (let i = 0; i < 25; i++) expect(await c.next()).toMatchObject({ code: 'not_found' });
    for (let i = 0; i < 20; i++) c.send({ type: 'hangup', call: 'bogus' });
    await c.waitClosed();
    expect(c.received.filter((m) => m.code === 'no_such_call')).toHaveLength(19);
    expect(c.received.at(-1)).toMatchObject({ code: 'too_many_errors' });
  });

  test('a client that stops reading is dropped once its pending output passes the cap; others carry on', async () => {
    // A budget large enough that only the output cap is in play.
    await t.restart({ clock, maxPendingOutputBytes: 64 * 1024, limits: { requests: { perSecond: 1e9, burst: 1e9 } } });
    const slow = await connect();
    slow.send({ type: 'hello', version: 1, name: 'slow' });
    await slow.next();
    slow.socket.pause();
    const fine = await registered('fine');
    // The replies it never reads fill the kernel's buffers first, then the server's cap.
    const burst = (JSON.stringify({ type: 'list' }) + '\n').repeat(1000);
    await waitUntil(
      () => {
        if (!slow.socket.destroyed && slow.socket.writableLength < 1024 * 1024) slow.sendRaw(burst);
        return t.server.clients === 1;
      },
      'the slow client was dropped',
      30_000,
      5,
    );
    fine.send({ type: 'list', req: 1 });
    expect(await fine.next()).toEqual({ type: 'users', req: 1, users: [{ name: 'fine', status: 'idle' }], more: false });
  });

  test('a connection over its request budget is not read until the budget refills; others are served meanwhile', async () => {
    const flooder = await registered('flooder');
    const other = await registered('other');
    const pongs = () => flooder.received.filter((m) => m.type === 'pong').length;
    // 1,000 pings in one write. The budget (400, then 100 a second) covers the hello, 399 pings
    // and the one that overdraws it.
    flooder.sendRaw('{"type":"ping"}\n'.repeat(1000));
    await waitUntil(() => pongs() >= 400, 'the budget was spent');
    other.send({ type: 'ping', req: 'meanwhile' });
    expect(await other.next()).toEqual({ type: 'pong', req: 'meanwhile' });
    expect(pongs()).toBe(400);
    // A second of budget: a hundred more.
    clock.advance(1000);
    await waitUntil(() => pongs() >= 500, 'a second of budget was used');
    other.send({ type: 'ping', req: 'again' });
    expect(await other.next()).toEqual({ type: 'pong', req: 'again' });
    expect(pongs()).toBe(500);
    clock.advance(5000);
    await waitUntil(() => pongs() === 1000, 'the rest was read');
    expect(flooder.received).toHaveLength(1 + 1000);
    expect(flooder.closed).toBe(false);
  });

  test('larger lines cost more: a line of 16 KiB costs 17 units (1, and 1 a KiB)', async () => {
    await t.restart({ clock, limits: { requests: { perSecond: 1, burst: 40 } } });
    const a = await registered('a');
    a.sendRaw(`{"type":"lookup","name":"x","pad":"${'p'.repeat(16 * 1024)}"}\n`.repeat(5));
    // 40 units: the hello (1), two 17-unit lines, and a third that overdraws it.
    await waitUntil(() => a.received.length >= 1 + 3, 'the budget was spent');
    await t.connect().then((c) => c.quiet());
    expect(a.received).toHaveLength(1 + 3);
  });

  test('an exception while handling a line is answered with server_error on that connection only', async () => {
    class BrokenRegistry extends MemoryRegistry {
      override find(name: string) {
        if (name === 'boom') throw new Error('broken registry');
        return super.find(name);
      }
    }
    const logged: string[] = [];
    await t.restart({ clock, registry: new BrokenRegistry(), logger: { error: (m, f) => logged.push(`${m} ${JSON.stringify(f)}`), warn() {}, info() {}, debug() {} } });
    const a = await registered('a');
    const b = await registered('b');
    a.send({ type: 'lookup', name: 'boom', req: 1 });
    expect(await a.next()).toEqual({ type: 'error', req: 1, code: 'server_error', message: 'the server failed handling that request; it was not done' });
    expect(logged).toEqual([expect.stringContaining('broken registry')]);
    a.send({ type: 'lookup', name: 'b', req: 2 });
    expect(await a.next()).toEqual({ type: 'user', req: 2, name: 'b', status: 'idle' });
    b.send({ type: 'ping', req: 3 });
    expect(await b.next()).toEqual({ type: 'pong', req: 3 });
  });
});
