import { RawClient, useTestServer } from '../helpers/signaling';
import { waitUntil } from '../helpers/wait';
import { ManualClock } from './manual-clock';

const clock = new ManualClock();
const t = useTestServer({ clock });
const offer = { codecs: ['opus'] };
const answer = { codec: 'opus' };

/** Registers `name`; returns the client and its resume token. */
async function register(name: string, resume?: string): Promise<{ c: RawClient; token: string; welcome: Record<string, unknown> }> {
  const c = await t.connect();
  c.send(resume ? { type: 'hello', version: 1, name, resume, req: 'h' } : { type: 'hello', version: 1, name, req: 'h' });
  const welcome = await c.next();
  if (welcome.type !== 'welcome') throw new Error(`registering ${name}: ${JSON.stringify(welcome)}`);
  return { c, token: welcome.resume as string, welcome };
}

async function talking(a: RawClient, b: RawClient): Promise<string> {
  a.send({ type: 'call', to: 'bob', offer, req: 'c' });
  const call = (await a.next()).call as string;
  expect(await b.next()).toMatchObject({ type: 'incoming', call });
  b.send({ type: 'answer', call, accept: true, answer, req: 'a' });
  expect(await b.next()).toEqual({ type: 'ok', req: 'a' });
  expect(await a.next()).toMatchObject({ type: 'accepted', call });
  return call;
}

describe('resuming a session', () => {
  test('welcome carries a fresh random token of at least 128 bits', async () => {
    const a = await register('alice');
    const b = await register('bob');
    for (const token of [a.token, b.token]) expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(a.token).not.toBe(b.token);
  });

  test('a dropped connection keeps the name for the grace: a stranger gets name_taken, the token gets it back', async () => {
    const a = await register('alice');
    a.c.socket.destroy();
    await waitUntil(() => t.server.connections === 0, 'the server saw the drop');
    expect(t.server.clients).toBe(1);
    const thief = await t.connect();
    thief.send({ type: 'hello', version: 1, name: 'ALICE', req: 1 });
    expect(await thief.next()).toMatchObject({ type: 'error', req: 1, code: 'name_taken' });
    // A token for another name is no key to this one.
    const bob = await register('bob');
    thief.send({ type: 'hello', version: 1, name: 'alice', resume: bob.token, req: 2 });
    expect(await thief.next()).toMatchObject({ type: 'error', req: 2, code: 'name_taken' });
    clock.advance(29_000);
    const back = await register('alice', a.token);
    expect(back.welcome).toMatchObject({ name: 'alice', resumed: true });
    expect(back.token).not.toBe(a.token);
    // The old token was spent.
    back.c.socket.destroy();
    await waitUntil(() => t.server.connections === 2, 'the server saw the second drop');
    const replay = await register('alice', a.token).catch((e: Error) => e);
    expect(replay).toBeInstanceOf(Error);
  });

  test('the grace runs out: the name is free again and the token is just a hello', async () => {
    const a = await register('alice');
    a.c.socket.destroy();
    await waitUntil(() => t.server.connections === 0, 'the server saw the drop');
    clock.advance(30_000);
    expect(t.server.clients).toBe(0);
    const again = await register('alice', a.token);
    expect(again.welcome.resumed).toBeUndefined();
    expect(again.welcome.name).toBe('alice');
  });

  test('bye frees the name at once', async () => {
    const a = await register('alice');
    a.c.send({ type: 'bye', req: 'b' });
    expect(await a.c.next()).toEqual({ type: 'ok', req: 'b' });
    await a.c.waitClosed();
    await waitUntil(() => t.server.clients === 0, 'the name to be freed');
    expect((await register('alice')).welcome.resumed).toBeUndefined();
  });

  test('a live call survives a party dropping: the other hears peer_reconnecting, then peer_reconnected; the call re-attaches', async () => {
    const a = await register('alice');
    const b = await register('bob');
    const call = await talking(a.c, b.c);
    b.c.socket.destroy();
    expect(await a.c.next()).toEqual({ type: 'peer_reconnecting', call, name: 'bob' });
    // Bob cannot be rung meanwhile, and is still in his call.
    const carol = await register('carol');
    carol.c.send({ type: 'call', to: 'bob', offer, req: 'x' });
    expect(await carol.c.next()).toMatchObject({ type: 'error', req: 'x', code: 'busy' });
    // Alice hangs up while bob is away: bob hears it when he is back.
    const b2 = await register('bob', b.token);
    expect(b2.welcome).toMatchObject({ resumed: true, call });
    expect(await a.c.next()).toEqual({ type: 'peer_reconnected', call, name: 'bob' });
    b2.c.send({ type: 'candidate', call, candidate: { ip: '10.0.0.2', port: 6 }, req: 'k' });
    expect(await b2.c.next()).toEqual({ type: 'ok', req: 'k' });
    expect(await a.c.next()).toMatchObject({ type: 'candidate', call, from: 'bob' });
    b2.c.socket.destroy();
    expect(await a.c.next()).toEqual({ type: 'peer_reconnecting', call, name: 'bob' });
    a.c.send({ type: 'hangup', call, req: 'h' });
    expect(await a.c.next()).toEqual({ type: 'ok', req: 'h' });
    const b3 = await register('bob', b2.token);
    expect(b3.welcome.call).toBeUndefined();
    expect(await b3.c.next()).toEqual({ type: 'ended', call, by: 'alice', reason: 'hangup' });
  });

  test('the grace runs out mid-call: the other party gets ended/peer_gone', async () => {
    const a = await register('alice');
    const b = await register('bob');
    const call = await talking(a.c, b.c);
    a.c.socket.destroy();
    expect(await b.c.next()).toEqual({ type: 'peer_reconnecting', call, name: 'alice' });
    clock.advance(30_000);
    expect(await b.c.next()).toEqual({ type: 'ended', call, by: 'alice', reason: 'peer_gone' });
  });

  test('a ringing call ends at once when a party drops', async () => {
    const a = await register('alice');
    const b = await register('bob');
    a.c.send({ type: 'call', to: 'bob', offer, req: 'c' });
    const call = (await a.c.next()).call as string;
    expect(await b.c.next()).toMatchObject({ type: 'incoming', call });
    b.c.socket.destroy();
    expect(await a.c.next()).toEqual({ type: 'ended', call, by: 'bob', reason: 'peer_gone' });
  });

  test('a resume before the server noticed the drop takes the session over and cuts the old connection', async () => {
    const a = await register('alice');
    const b = await register('bob');
    const call = await talking(a.c, b.c);
    const b2 = await register('bob', b.token);
    expect(b2.welcome).toMatchObject({ resumed: true, call });
    await b.c.waitClosed();
    // The old connection closing is no drop: alice hears nothing of it.
    await a.c.quiet();
    a.c.send({ type: 'hangup', call, req: 'h' });
    expect(await a.c.next()).toEqual({ type: 'ok', req: 'h' });
    expect(await b2.c.next()).toEqual({ type: 'ended', call, by: 'alice', reason: 'hangup' });
  });
});

describe('without a grace', () => {
  const clock0 = new ManualClock();
  const t0 = useTestServer({ clock: clock0, resumeGraceMs: 0 });
  test('a dropped connection frees the name at once', async () => {
    const a = await t0.registered('alice');
    a.socket.destroy();
    await waitUntil(() => t0.server.clients === 0, 'the name to be freed');
  });
});
