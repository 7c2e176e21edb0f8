import { pour, RawClient, ServerChild } from '../helpers/signaling';

/**
 * In an accepted call the caller pipelines 16 KB candidates at a callee that reads slowly (here:
 * not at all). The sender is refused and then cut off; the callee keeps its connection and its
 * name, and reads what was relayed to it once it reads again.
 */
jest.setTimeout(120_000);

let server: ServerChild;
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.destroy();
  await server.stop();
});

async function acceptedCall(): Promise<{ alice: RawClient; bob: RawClient; call: string }> {
  const alice = await RawClient.register(server.port, 'alice');
  const bob = await RawClient.register(server.port, 'bob');
  clients.push(alice, bob);
  alice.send({ type: 'call', to: 'bob', offer: {} });
  const call = (await alice.next()).call as string;
  await bob.next();
  bob.send({ type: 'answer', call, accept: true, answer: {} });
  await bob.next();
  await alice.next();
  return { alice, bob, call };
}

/** Candidates of about 16 KB each, written as fast as the socket takes them, until the sender is cut off. */
async function flood(alice: RawClient, call: string): Promise<number> {
  const line = JSON.stringify({ type: 'candidate', call, candidate: { pad: 'x'.repeat(16_000) } }) + '\n';
  const sent = await pour(alice.socket, line, 20_000);
  await alice.waitClosed(60_000);
  return sent;
}

/**
 * The sender was disconnected: told so (`too_many_errors`), unless it was still writing when the
 * server, having said so, reset the connection; the reset can discard the goodbye unread.
 */
function expectCutOff(alice: RawClient): void {
  expect(alice.closed).toBe(true);
  if (!alice.reset) expect(alice.received.at(-1)).toMatchObject({ code: 'too_many_errors' });
}

async function expectBobUnharmed(bob: RawClient): Promise<void> {
  // Nobody can take the name: bob still holds it.
  const thief = await RawClient.connect(server.port);
  clients.push(thief);
  thief.send({ type: 'hello', version: 1, name: 'bob', req: 1 });
  expect(await thief.next()).toMatchObject({ type: 'error', req: 1, code: 'name_taken' });
  // Bob reads again: what was relayed arrives whole, then the end of the call, then his pong.
  bob.socket.resume();
  bob.send({ type: 'ping', req: 'still-here' });
  let m;
  do m = await bob.next(30_000);
  while (m.type === 'candidate');
  expect(m).toMatchObject({ type: 'ended', by: 'alice', reason: 'peer_gone' });
  expect(await bob.next(30_000)).toEqual({ type: 'pong', req: 'still-here' });
  expect(bob.closed).toBe(false);
}

test('default limits: the sender is refused (rate_limited) after the per-call candidate cap, then disconnected', async () => {
  server = await ServerChild.start();
  const { alice, bob, call } = await acceptedCall();
  bob.socket.pause();
  await flood(alice, call);
  await expectBobUnharmed(bob);
  const codes = alice.received.filter((m) => m.type === 'error').map((m) => m.code);
  expect(codes).toContain('rate_limited');
  expectCutOff(alice);
});

test('with no per-call cap and no request budget, the receiver backlog alone protects the callee', async () => {
  server = await ServerChild.start({ limits: { candidatesPerCall: 1e9, requests: { perSecond: 1e9, burst: 1e9 } } });
  const { alice, bob, call } = await acceptedCall();
  bob.socket.pause();
  const sent = await flood(alice, call);
  await expectBobUnharmed(bob);
  const refusals = alice.received.filter((m) => m.code === 'rate_limited');
  expect(refusals.length).toBeGreaterThan(0);
  expect(refusals[0].message).toMatch(/bob is not reading/);
  expectCutOff(alice);
  expect(sent).toBeGreaterThan(20);
});
