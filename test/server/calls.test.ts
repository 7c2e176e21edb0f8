import { RawClient, useTestServer } from '../helpers/signaling';
import { ManualClock } from './manual-clock';

const clock = new ManualClock();
const t = useTestServer({ clock });
const registered = t.registered;
const offer = { codecs: ['opus'], candidates: [{ ip: '127.0.0.1', port: 4000 }] };
const answer = { codec: 'opus', candidates: [{ ip: '127.0.0.1', port: 4001 }] };

/** `from` calls `to`; returns the call id after both sides saw it ring. */
async function ring(a: RawClient, b: RawClient, from = 'alice', to = 'bob'): Promise<string> {
  a.send({ type: 'call', to, offer, req: 'c' });
  const ringing = await a.next();
  expect(ringing).toEqual({ type: 'ringing', req: 'c', call: expect.stringMatching(/^[0-9a-f]{32}$/), to, turn: expect.any(Object) });
  const call = ringing.call as string;
  expect(await b.next()).toEqual({ type: 'incoming', call, from, offer, turn: expect.any(Object) });
  return call;
}

async function talking(a: RawClient, b: RawClient): Promise<string> {
  const call = await ring(a, b);
  b.send({ type: 'answer', call, accept: true, answer, req: 'a' });
  expect(await b.next()).toEqual({ type: 'ok', req: 'a' });
  expect(await a.next()).toEqual({ type: 'accepted', call, answer });
  return call;
}

describe('calls', () => {
  test('accepted, candidates exchanged, then hung up', async () => {
    const a = await registered('alice');
    const b = await registered('bob');
    const call = await talking(a, b);
    a.send({ type: 'candidate', call, candidate: { ip: '10.0.0.1', port: 5 }, req: 'k' });
    expect(await a.next()).toEqual({ type: 'ok', req: 'k' });
    expect(await b.next()).toEqual({ type: 'candidate', call, from: 'alice', candidate: { ip: '10.0.0.1', port: 5 } });
    b.send({ type: 'candidate', call, candidate: { ip: '10.0.0.2', port: 6 } });
    expect(await b.next()).toEqual({ type: 'ok' });
    expect(await a.next()).toEqual({ type: 'candidate', call, from: 'bob', candidate: { ip: '10.0.0.2', port: 6 } });
    const c = await registered('carol');
    c.send({ type: 'list', req: 'l' });
    expect(await c.next()).toMatchObject({ users: [{ name: 'alice', status: 'in-call' }, { name: 'bob', status: 'in-call' }, { name: 'carol', status: 'idle' }] });
    b.send({ type: 'hangup', call, req: 'h' });
    expect(await b.next()).toEqual({ type: 'ok', req: 'h' });
    expect(await a.next()).toEqual({ type: 'ended', call, by: 'bob', reason: 'hangup' });
    // Both are free again: a new call can start.
    await talking(a, b);
  });

  test('declined → the caller gets rejected/declined', async () => {
    const a = await registered('alice');
    const b = await registered('bob');
    const call = await ring(a, b);
    b.send({ type: 'answer', call, accept: false, req: 'n' });
    expect(await b.next()).toEqual({ type: 'ok', req: 'n' });
    expect(await a.next()).toEqual({ type: 'rejected', call, reason: 'declined' });
  });

  test('the callee may decline with incompatible (no common codec)', async () => {
    const a = await registered('alice');
    const b = await registered('bob');
    const call = await ring(a, b);
    b.send({ type: 'answer', call, accept: false, reason: 'incompatible' });
    expect(await b.next()).toEqual({ type: 'ok' });
    expect(await a.next()).toEqual({ type: 'rejected', call, reason: 'incompatible' });
  });

  test('busy: the callee is ringing or in a call; so is a caller already in one', async () => {
    const a = await registered('alice');
    const b = await registered('bob');
    const c = await registered('carol');
    const call = await ring(a, b);
    c.send({ type: 'call', to: 'BOB', offer, req: 1 });
    expect(await c.next()).toEqual({ type: 'error', req: 1, code: 'busy', message: 'bob is busy in another call' });
    b.send({ type: 'answer', call, accept: true, answer });
    await b.next();
    await a.next();
    c.send({ type: 'call', to: 'alice', offer, req: 2 });
    expect(await c.next()).toEqual({ type: 'error', req: 2, code: 'busy', message: 'alice is busy in another call' });
    a.send({ type: 'call', to: 'carol', offer, req: 3 });
    expect(await a.next()).toMatchObject({ type: 'error', req: 3, code: 'busy', message: expect.stringContaining('already in a call') });
    await c.quiet();
  });

  test('calling an unknown user → not_found; calling yourself → self_call', async () => {
    const a = await registered('alice');
    a.send({ type: 'call', to: 'zed', offer, req: 1 });
    expect(await a.next()).toEqual({ type: 'error', req: 1, code: 'not_found', message: 'no user named "zed" is online' });
    a.send({ type: 'call', to: 'ALICE', offer, req: 2 });
    expect(await a.next()).toEqual({ type: 'error', req: 2, code: 'self_call', message: 'you cannot call yourself' });
  });

  test('cancelled before the answer → the callee gets ended/cancelled', async () => {
    const a = await registered('alice');
    const b = await registered('bob');
    const call = await ring(a, b);
    a.send({ type: 'cancel', call, req: 'x' });
    expect(await a.next()).toEqual({ type: 'ok', req: 'x' });
    expect(await b.next()).toEqual({ type: 'ended', call, by: 'alice', reason: 'cancelled' });
    // Answering the cancelled call is refused.
    b.send({ type: 'answer', call, accept: true, answer, req: 'late' });
    expect(await b.next()).toMatchObject({ type: 'error', req: 'late', code: 'no_such_call' });
  });

  test('nobody answers within the ring timeout (30 s) → timeout to both sides, and not a moment before', async () => {
    const a = await registered('alice');
    const b = await registered('bob');
    const call = await ring(a, b);
    clock.advance(29_999);
    await a.quiet();
    await b.quiet();
    clock.advance(1);
    expect(await a.next()).toEqual({ type: 'ended', call, reason: 'timeout' });
    expect(await b.next()).toEqual({ type: 'ended', call, reason: 'timeout' });
  });

  test('accepting stops the ring timer', async () => {
    const a = await registered('alice');
    const b = await registered('bob');
    await talking(a, b);
    clock.advance(45_000);
    await a.quiet();
    await b.quiet();
  });

  test('peer gone while ringing (callee drops: at once) and while talking (caller drops: once its resume grace is over)', async () => {
    const a = await registered('alice');
    const b = await registered('bob');
    const call = await ring(a, b);
    b.socket.destroy();
    expect(await a.next()).toEqual({ type: 'ended', call, by: 'bob', reason: 'peer_gone' });
    clock.advance(30_000);
    const b2 = await registered('bob');
    const call2 = await talking(a, b2);
    a.socket.destroy();
    expect(await b2.next()).toEqual({ type: 'peer_reconnecting', call: call2, name: 'alice' });
    clock.advance(30_000);
    expect(await b2.next()).toEqual({ type: 'ended', call: call2, by: 'alice', reason: 'peer_gone' });
  });

  test('only the two parties act on a call; wrong states are refused', async () => {
    const a = await registered('alice');
    const b = await registered('bob');
    const eve = await registered('eve');
    const call = await ring(a, b);
    for (const msg of [
      { type: 'answer', call, accept: true, answer },
      { type: 'cancel', call },
      { type: 'hangup', call },
      { type: 'candidate', call, candidate: { x: 1 } },
    ]) {
      eve.send({ ...msg, req: msg.type });
      expect(await eve.next()).toEqual({ type: 'error', req: msg.type, code: 'no_such_call', message: 'no such call, or not a call of yours' });
    }
    a.send({ type: 'answer', call, accept: true, answer, req: 'self' });
    expect(await a.next()).toEqual({ type: 'error', req: 'self', code: 'wrong_state', message: 'only the callee can answer a call' });
    b.send({ type: 'cancel', call, req: 'cb' });
    expect(await b.next()).toMatchObject({ type: 'error', req: 'cb', code: 'wrong_state' });
    b.send({ type: 'answer', call, accept: true, req: 'noanswer' });
    expect(await b.next()).toMatchObject({ type: 'error', req: 'noanswer', code: 'bad_request' });
    b.send({ type: 'answer', call, accept: true, answer });
    await b.next();
    await a.next();
    b.send({ type: 'answer', call, accept: true, answer, req: 'twice' });
    expect(await b.next()).toEqual({ type: 'error', req: 'twice', code: 'wrong_state', message: 'cannot accept a call that is active' });
    a.send({ type: 'cancel', call, req: 'late' });
    expect(await a.next()).toEqual({ type: 'error', req: 'late', code: 'wrong_state', message: 'cannot cancel a call that is active' });
    // The call is still up for both after all that.
    a.send({ type: 'hangup', call });
    expect(await a.next()).toEqual({ type: 'ok' });
    expect(await b.next()).toEqual({ type: 'ended', call, by: 'alice', reason: 'hangup' });
  });

  test('hang-up while ringing cancels (caller) or declines (callee)', async () => {
    const a = await registered('alice');
    const b = await registered('bob');
    let call = await ring(a, b);
    a.send({ type: 'hangup', call });
    expect(await a.next()).toEqual({ type: 'ok' });
    expect(await b.next()).toEqual({ type: 'ended', call, by: 'alice', reason: 'cancelled' });
    call = await ring(a, b);
    b.send({ type: 'hangup', call });
    expect(await b.next()).toEqual({ type: 'ok' });
    expect(await a.next()).toEqual({ type: 'rejected', call, reason: 'declined' });
  });

  test('an offer over the body size limit → too_large', async () => {
    const a = await registered('alice');
    await registered('bob');
    a.send({ type: 'call', to: 'bob', offer: { pad: 'x'.repeat(20_000) }, req: 'big' });
    expect(await a.next()).toMatchObject({ type: 'error', req: 'big', code: 'too_large' });
  });

  test('server shutdown tells every client server_shutdown before closing', async () => {
    const a = await registered('alice');
    const b = await registered('bob');
    await talking(a, b);
    await t.server.close();
    await a.waitClosed();
    await b.waitClosed();
    expect(a.received.at(-1)).toEqual({ type: 'error', code: 'server_shutdown', message: 'the server is shutting down' });
    expect(b.received.at(-1)).toEqual({ type: 'error', code: 'server_shutdown', message: 'the server is shutting down' });
  });
});

describe('a side that failed', () => {
  test('refusing with reason failed and a cause → the caller gets rejected failed with that cause', async () => {
    const a = await registered('alice');
    const b = await registered('bob');
    const call = await ring(a, b);
    b.send({ type: 'answer', call, accept: false, reason: 'failed', cause: 'output_device', req: 1 });
    expect(await b.next()).toEqual({ type: 'ok', req: 1 });
    expect(await a.next()).toEqual({ type: 'rejected', call, reason: 'failed', cause: 'output_device' });
  });

  test('hanging up a call with reason failed → the peer gets ended failed, by whom and what failed', async () => {
    const a = await registered('alice');
    const b = await registered('bob');
    const call = await talking(a, b);
    a.send({ type: 'hangup', call, reason: 'failed', cause: 'input_device' });
    expect(await a.next()).toEqual({ type: 'ok' });
    expect(await b.next()).toEqual({ type: 'ended', call, by: 'alice', reason: 'failed', cause: 'input_device' });
  });

  test('while it rings: the caller failing ends it for the callee; the callee failing refuses it', async () => {
    const a = await registered('alice');
    const b = await registered('bob');
    let call = await ring(a, b);
    a.send({ type: 'hangup', call, reason: 'failed', cause: 'no_path' });
    expect(await a.next()).toEqual({ type: 'ok' });
    expect(await b.next()).toEqual({ type: 'ended', call, by: 'alice', reason: 'failed', cause: 'no_path' });
    call = await ring(a, b);
    b.send({ type: 'hangup', call, reason: 'failed', cause: 'input_device' });
    expect(await b.next()).toEqual({ type: 'ok' });
    expect(await a.next()).toEqual({ type: 'rejected', call, reason: 'failed', cause: 'input_device' });
  });

  test('failed without a cause is relayed without one; a cause goes with failed only; a cause is a code, never text', async () => {
    const a = await registered('alice');
    const b = await registered('bob');
    let call = await ring(a, b);
    b.send({ type: 'answer', call, accept: false, reason: 'failed' });
    expect(await b.next()).toEqual({ type: 'ok' });
    expect(await a.next()).toEqual({ type: 'rejected', call, reason: 'failed' });
    call = await ring(a, b);
    b.send({ type: 'answer', call, accept: false, reason: 'busy', cause: 'no_path' });
    expect(await b.next()).toEqual({ type: 'ok' });
    expect(await a.next()).toEqual({ type: 'rejected', call, reason: 'busy' });
    call = await talking(a, b);
    a.send({ type: 'hangup', call, reason: 'failed', cause: 'the microphone caught fire', req: 'x' });
    expect(await a.next()).toMatchObject({ type: 'error', req: 'x', code: 'bad_request', message: expect.stringMatching(/^hangup: cause: /) });
    a.send({ type: 'hangup', call, reason: 'bored', req: 'y' });
    expect(await a.next()).toMatchObject({ type: 'error', req: 'y', code: 'bad_request', message: expect.stringMatching(/^hangup: reason: /) });
    a.send({ type: 'hangup', call, reason: 'hangup' });
    expect(await a.next()).toEqual({ type: 'ok' });
    expect(await b.next()).toEqual({ type: 'ended', call, by: 'alice', reason: 'hangup' });
  });
});

describe('limits on ringing and relaying', () => {
  test('a caller placing calls faster than allowed is refused with rate_limited and when to retry', async () => {
    await t.restart({ clock, limits: { callsPlaced: { perSecond: 0.5, burst: 3 } } });
    const a = await registered('alice');
    const b = await registered('bob');
    for (let i = 0; i < 3; i++) {
      const call = await ring(a, b);
      a.send({ type: 'cancel', call });
      await a.next();
      await b.next();
    }
    a.send({ type: 'call', to: 'bob', offer, req: 'over' });
    expect(await a.next()).toEqual({
      type: 'error',
      req: 'over',
      code: 'rate_limited',
      message: 'you are placing calls too fast; try again in 2 s',
      retryAfterMs: 2000,
    });
    // Refused calls ring nobody.
    await b.quiet();
    clock.advance(1999);
    a.send({ type: 'call', to: 'bob', offer, req: 'early' });
    expect(await a.next()).toMatchObject({ code: 'rate_limited', retryAfterMs: 1 });
    clock.advance(1);
    await ring(a, b);
  });

  test('a callee rung more often than allowed, by everyone together, is not rung; others can still be', async () => {
    await t.restart({ clock, limits: { callsReceived: { perSecond: 1, burst: 2 } } });
    const bob = await registered('bob');
    const callers = [await registered('alice'), await registered('carol'), await registered('dan')];
    for (const [i, c] of callers.slice(0, 2).entries()) {
      const call = await ring(c, bob, ['alice', 'carol'][i]);
      c.send({ type: 'cancel', call });
      await c.next();
      await bob.next();
    }
    const dan = callers[2];
    dan.send({ type: 'call', to: 'bob', offer, req: 1 });
    expect(await dan.next()).toEqual({
      type: 'error',
      req: 1,
      code: 'rate_limited',
      message: 'bob is being called too often; try again in 1 s',
      retryAfterMs: 1000,
    });
    // The refusal did not use up dan's own calls: alice is still callable by him.
    await ring(dan, callers[0], 'dan', 'alice');
    clock.advance(1000);
  });

  test('a caller declined three times in a row by the same callee must wait a minute before calling it again', async () => {
    const a = await registered('alice');
    const b = await registered('bob');
    const c = await registered('carol');
    for (let i = 0; i < 3; i++) {
      if (i > 0) clock.advance(2000);
      const call = await ring(a, b);
      b.send({ type: 'answer', call, accept: false });
      await b.next();
      expect(await a.next()).toMatchObject({ type: 'rejected', reason: 'declined' });
    }
    a.send({ type: 'call', to: 'bob', offer, req: 'again' });
    expect(await a.next()).toEqual({
      type: 'error',
      req: 'again',
      code: 'rate_limited',
      message: 'bob declined your last 3 calls; try again in 60 s',
      retryAfterMs: 60_000,
    });
    // Only that pair: alice may call carol, and carol may call bob.
    let call = await ring(a, c, 'alice', 'carol');
    a.send({ type: 'cancel', call });
    await a.next();
    await c.next();
    call = await ring(c, b, 'carol', 'bob');
    c.send({ type: 'cancel', call });
    await c.next();
    await b.next();
    clock.advance(60_000);
    call = await ring(a, b);
    // An accepted call clears the record: three more declines are needed to block again.
    b.send({ type: 'answer', call, accept: true, answer });
    await b.next();
    await a.next();
  });

  test('declines spread over more than the window do not add up', async () => {
    const a = await registered('alice');
    const b = await registered('bob');
    for (let i = 0; i < 4; i++) {
      const call = await ring(a, b);
      b.send({ type: 'answer', call, accept: false });
      await b.next();
      expect(await a.next()).toMatchObject({ type: 'rejected' });
      clock.advance(31_000);
    }
  });

  test('at most 32 candidates from one side of a call; the 33rd is refused', async () => {
    const a = await registered('alice');
    const b = await registered('bob');
    const call = await talking(a, b);
    for (let i = 0; i < 32; i++) a.send({ type: 'candidate', call, candidate: { n: i } });
    for (let i = 0; i < 32; i++) expect(await a.next()).toEqual({ type: 'ok' });
    for (let i = 0; i < 32; i++) expect(await b.next()).toEqual({ type: 'candidate', call, from: 'alice', candidate: { n: i } });
    a.send({ type: 'candidate', call, candidate: { n: 32 }, req: 'over' });
    expect(await a.next()).toEqual({ type: 'error', req: 'over', code: 'rate_limited', message: 'at most 32 candidates per call' });
    // The other side has its own count.
    b.send({ type: 'candidate', call, candidate: { n: 0 } });
    expect(await b.next()).toEqual({ type: 'ok' });
    await b.quiet();
  });
});
