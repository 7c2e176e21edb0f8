import { useTestServer } from '../helpers/signaling';

const t = useTestServer();
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
    await new Promise((r) => setTimeout(r, 100));
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
    await t.restart({ maxPendingOutputBytes: 64 * 1024 });
    const slow = await connect();
    slow.send({ type: 'hello', version: 1, name: 'slow' });
    await slow.next();
    slow.socket.pause();
    const fine = await registered('fine');
        // The replies it never reads fill the kernel's buffers first, then the server's cap.
    const burst = (JSON.stringify({ type: 'list' }) + '\n').repeat(1000);
    const deadline = Date.now() + 10_000;
    while (t.server.clients !== 1 && Date.now() < deadline) {
      if (!slow.socket.destroyed && slow.socket.writableLength < 1024 * 1024) slow.sendRaw(burst);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(t.server.clients).toBe(1);
    fine.send({ type: 'list', req: 1 });
    expect(await fine.next()).toEqual({ type: 'users', req: 1, users: [{ name: 'fine', status: 'idle' }] });
  });
});
