import { useTestServer } from '../helpers/signaling';

const t = useTestServer();
const registered = t.registered;
const connect = t.connect;

describe('registration', () => {
  test('hello → welcome with a session id, the name and the UDP port; req is echoed', async () => {
    const c = await connect();
    c.send({ type: 'hello', version: 1, name: 'alice', req: 'r1' });
    const m = await c.next();
    expect(m).toEqual({ type: 'welcome', req: 'r1', id: expect.stringMatching(/^[0-9a-f]{32}$/), name: 'alice', udpPort: t.server.udpPort, version: 1 });
    expect(t.server.clients).toBe(1);
  });

  test('a taken name (any case) → name_taken, and the connection stays open for another try', async () => {
    await registered('Alice');
    const c = await connect();
    c.send({ type: 'hello', version: 1, name: 'aLiCe', req: 1 });
    expect(await c.next()).toEqual({ type: 'error', req: 1, code: 'name_taken', message: 'the name "aLiCe" is taken: choose another' });
    c.send({ type: 'hello', version: 1, name: 'alice2', req: 2 });
    expect(await c.next()).toMatchObject({ type: 'welcome', req: 2, name: 'alice2' });
  });

  test.each(['', 'a'.repeat(33), 'bad name', 'émile', 'x/y', 'a\nb'])('invalid name %j → bad_name', async (name) => {
    const c = await connect();
    c.send({ type: 'hello', version: 1, name });
    expect(await c.next()).toEqual({ type: 'error', code: 'bad_name', message: 'a name is 1 to 32 letters, digits, ".", "_" or "-"' });
    c.send({ type: 'hello', version: 1, name: 'ok.name_1-x' });
    expect(await c.next()).toMatchObject({ type: 'welcome', name: 'ok.name_1-x' });
  });

  test('a second hello → already_registered; a wrong version → unsupported_version', async () => {
    const c = await registered('bob');
    c.send({ type: 'hello', version: 1, name: 'bob2' });
    expect(await c.next()).toMatchObject({ type: 'error', code: 'already_registered' });
    const d = await connect();
    d.send({ type: 'hello', version: 2, name: 'carol' });
    expect(await d.next()).toMatchObject({ type: 'error', code: 'unsupported_version' });
  });

  test('requests before hello → not_registered', async () => {
    const c = await connect();
    for (const msg of [{ type: 'list' }, { type: 'lookup', name: 'x' }, { type: 'call', to: 'x', offer: {} }, { type: 'hangup', call: 'c' }]) {
      c.send({ ...msg, req: msg.type });
      expect(await c.next()).toEqual({ type: 'error', req: msg.type, code: 'not_registered', message: 'say hello with a name first' });
    }
  });

  test('a name is freed the moment its connection closes', async () => {
    const a = await registered('dave');
    await a.close();
    // The close event may race the next hello by a moment; the server frees on 'close'.
    await new Promise((r) => setTimeout(r, 50));
    const b = await registered('DAVE');
    expect(b.received[0]).toMatchObject({ type: 'welcome', name: 'DAVE' });
  });

  test('no message within the heartbeat window → heartbeat_timeout and the name is freed; ping keeps it alive', async () => {
    await t.restart({ heartbeatTimeoutMs: 400 });
    const idle = await registered('idle');
    const alive = await registered('alive');
    const pinger = setInterval(() => alive.send({ type: 'ping' }), 100);
    try {
      await idle.waitClosed(3000);
      expect(idle.received.at(-1)).toMatchObject({ type: 'error', code: 'heartbeat_timeout' });
      expect(alive.closed).toBe(false);
      alive.send({ type: 'list', req: 'l' });
      let m;
      do m = await alive.next();
      while (m.type === 'pong');
      expect(m).toEqual({ type: 'users', req: 'l', users: [{ name: 'alive', status: 'idle' }] });
    } finally {
      clearInterval(pinger);
    }
  });
});

describe('list and lookup', () => {
  test('list shows everyone online with a status, sorted by name', async () => {
    const a = await registered('alice');
    const b = await registered('bob');
    await registered('Carol');
    await registered('dan');
    a.send({ type: 'call', to: 'bob', offer: {} });
    await a.next();
    await b.next();
    const c = await registered('eve');
    c.send({ type: 'list', req: 7 });
    expect(await c.next()).toEqual({
      type: 'users',
      req: 7,
      users: [
        { name: 'alice', status: 'ringing' },
        { name: 'bob', status: 'ringing' },
        { name: 'Carol', status: 'idle' },
        { name: 'dan', status: 'idle' },
        { name: 'eve', status: 'idle' },
      ],
    });
  });

  test('lookup finds a user case-insensitively; an unknown one → not_found', async () => {
    await registered('Frank');
    const c = await registered('gina');
    c.send({ type: 'lookup', name: 'frank', req: 1 });
    expect(await c.next()).toEqual({ type: 'user', req: 1, name: 'Frank', status: 'idle' });
    c.send({ type: 'lookup', name: 'nobody', req: 2 });
    expect(await c.next()).toEqual({ type: 'error', req: 2, code: 'not_found', message: 'no user named "nobody" is online' });
  });
});
