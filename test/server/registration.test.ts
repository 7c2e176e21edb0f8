import { RawClient, useTestServer } from '../helpers/signaling';
import { waitUntil } from '../helpers/wait';
import { ManualClock } from './manual-clock';

const clock = new ManualClock();
const t = useTestServer({ clock });
const registered = t.registered;
const connect = t.connect;

/** A ping answered: the server has handled everything this client sent before it. */
async function pinged(c: RawClient, req: string | number): Promise<void> {
  c.send({ type: 'ping', req });
  expect(await c.next()).toEqual({ type: 'pong', req });
}

describe('registration', () => {
  test('hello → welcome with a session id, the name and the UDP port; req is echoed', async () => {
    const c = await connect();
    c.send({ type: 'hello', version: 1, name: 'alice', req: 'r1' });
    const m = await c.next();
    expect(m).toEqual({ type: 'welcome', req: 'r1', id: expect.stringMatching(/^[0-9a-f]{32}$/), name: 'alice', udpPort: t.server.udpPort, version: 1, resume: expect.any(String) });
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

  test('a name is freed the moment its client says bye, and a closed connection\'s once the resume grace is over', async () => {
    const a = await registered('dave');
    a.send({ type: 'bye' });
    await a.waitClosed();
    await waitUntil(() => t.server.clients === 0, 'the server saw the client leave');
    const c = await registered('carl');
    await c.close();
    await waitUntil(() => t.server.connections === 0, 'the server saw the connection close');
    expect(t.server.clients).toBe(1);
    clock.advance(30_000);
    expect(t.server.clients).toBe(0);
    const b = await registered('DAVE');
    expect(b.received[0]).toMatchObject({ type: 'welcome', name: 'DAVE' });
  });

  test('no message within the heartbeat window (60 s) → heartbeat_timeout and the name is freed; ping keeps it alive', async () => {
    const idle = await registered('idle');
    const alive = await registered('alive');
    clock.advance(40_000);
    await pinged(alive, 'at 40 s');
    clock.advance(19_000);
    await pinged(alive, 'at 59 s');
    expect(idle.closed).toBe(false);
    clock.advance(6_000);
    await idle.waitClosed();
    expect(idle.received.at(-1)).toEqual({ type: 'error', code: 'heartbeat_timeout', message: 'nothing heard for 60 s' });
    expect(alive.closed).toBe(false);
    // Silence may be a network gone quiet: the name is kept for the resume grace, then freed.
    clock.advance(30_000);
    alive.send({ type: 'list', req: 'l' });
    expect(await alive.next()).toEqual({ type: 'users', req: 'l', users: [{ name: 'alive', status: 'idle' }], more: false });
  });

  test('a connection that has not registered within 10 s is closed, however often it pings', async () => {
    const lurker = await connect();
    const refused = await connect();
    const member = await connect();
    member.send({ type: 'hello', version: 1, name: 'member' });
    await member.next();
    refused.send({ type: 'hello', version: 1, name: 'bad name' });
    expect(await refused.next()).toMatchObject({ code: 'bad_name' });
    for (let s = 2; s <= 8; s += 2) {
      clock.advance(2000);
      await pinged(lurker, s);
      await pinged(refused, s);
    }
    clock.advance(1999);
    await pinged(lurker, 'at 9.999 s');
    clock.advance(1 + 2500);
    await lurker.waitClosed();
    await refused.waitClosed();
    expect(lurker.received.at(-1)).toEqual({ type: 'error', code: 'registration_timeout', message: 'no hello within 10 s' });
    expect(refused.received.at(-1)).toMatchObject({ code: 'registration_timeout' });
    // A registered client is not concerned.
    await pinged(member, 'member');
  });

  test('the registration window is an option', async () => {
    await t.restart({ clock, limits: { registrationTimeoutMs: 2000 } });
    const lurker = await connect();
    clock.advance(1000);
    await pinged(lurker, 1);
    clock.advance(1500);
    await lurker.waitClosed();
    expect(lurker.received.at(-1)).toEqual({ type: 'error', code: 'registration_timeout', message: 'no hello within 2 s' });
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
      more: false,
    });
  });

  test('list comes in pages: limit, then after the last name of the previous page', async () => {
    const online = new Map<string, RawClient>();
    for (const n of ['e', 'B', 'd', 'a', 'C']) online.set(n, await registered(n));
    const c = await registered('z');
    const names = (m: Record<string, unknown>) => (m.users as { name: string }[]).map((u) => u.name);
    c.send({ type: 'list', limit: 2 });
    let m = await c.next();
    expect([names(m), m.more]).toEqual([['a', 'B'], true]);
    c.send({ type: 'list', limit: 2, after: 'B' });
    m = await c.next();
    expect([names(m), m.more]).toEqual([['C', 'd'], true]);
    c.send({ type: 'list', limit: 3, after: 'd' });
    m = await c.next();
    expect([names(m), m.more]).toEqual([['e', 'z'], false]);
    // `after` need not be online: the page starts after where it would be.
    c.send({ type: 'list', after: 'bb' });
    expect(names(await c.next())).toEqual(['C', 'd', 'e', 'z']);
    // A name that left drops out; one that arrives appears in place.
    online.get('C')!.send({ type: 'bye' });
    await waitUntil(() => t.server.clients === 5, 'the server saw C leave');
    await registered('ca');
    c.send({ type: 'list', after: 'b', limit: 2 });
    expect(names(await c.next())).toEqual(['ca', 'd']);
    c.send({ type: 'list', limit: 0, req: 'zero' });
    expect(await c.next()).toMatchObject({ type: 'error', req: 'zero', code: 'bad_request' });
  });

  test('a page never holds more than the server page size, whatever limit asks', async () => {
    await t.restart({ clock, limits: { listPageSize: 3 } });
    for (const n of ['a', 'b', 'c', 'd']) await registered(n);
    const c = await registered('e');
    c.send({ type: 'list', limit: 1000 });
    expect(await c.next()).toMatchObject({ users: [{ name: 'a' }, { name: 'b' }, { name: 'c' }], more: true });
    c.send({ type: 'list' });
    expect(await c.next()).toMatchObject({ users: [{ name: 'a' }, { name: 'b' }, { name: 'c' }], more: true });
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
