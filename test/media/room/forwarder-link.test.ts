/** Registering with the room's forwarder: signed Binding requests, resent until answered, then kept alive. */
import dgram from 'node:dgram';
import { STUN_BINDING_SUCCESS, encodeStun, parseStun } from '../../../src/protocol/stun';
import { ForwarderLink } from '../../../src/media/room/forwarder-link';
import { UdpLink, type Address } from '../../../src/media/udp-link';
import { ManualTimers } from '../../helpers/audio';
import { FakeForwarder } from '../../helpers/fake-forwarder';
import { waitFor, waitUntil } from '../../helpers/wait';

let link: UdpLink;
let forwarder: FakeForwarder;
let timers: ManualTimers;
beforeEach(async () => {
  link = await UdpLink.open({ host: '127.0.0.1' });
  forwarder = await FakeForwarder.start();
  timers = new ManualTimers();
});
afterEach(async () => {
  link.close();
  await forwarder.close();
});

function forwarderLink(forward: { username: string; password: string }, opts: { keepaliveMs?: number; timeoutMs?: number } = {}): ForwarderLink {
  const f = new ForwarderLink({ link, server: forwarder.address, forward, timers, ...opts });
  link.on('packet', (buf: Buffer, from: Address) => {
    if (from.port === forwarder.address.port) f.handle(buf);
  });
  return f;
}

test('registers with a signed Binding and reports the address the forwarder saw', async () => {
  const f = forwarderLink(forwarder.allow('ann'));
  const registered = waitFor<[Address]>(f, 'registered');
  f.start();
  expect(await registered).toEqual([{ ip: '127.0.0.1', port: link.port }]);
  expect(forwarder.registered.get('ann')).toEqual({ ip: '127.0.0.1', port: link.port });
  expect(f.address).toEqual({ ip: '127.0.0.1', port: link.port });
  f.close();
});

test('the wrong password is refused by the forwarder and registers nothing', async () => {
  forwarder.allow('ann', 'right');
  const f = forwarderLink({ username: 'ann', password: 'wrong' });
  f.start();
  await waitUntil(() => forwarder.refused >= 1, 'the forwarder refused the request');
  expect(forwarder.registered.size).toBe(0);
  f.close();
});

test('unanswered, the request is resent with back-off, then the registration fails at the timeout', async () => {
  forwarder.answering = false;
  const f = forwarderLink(forwarder.allow('ann'), { timeoutMs: 4000 });
  const failures: string[] = [];
  f.on('failed', (why) => failures.push(why));
  f.start();
  // Sent at 0, 100, 300, 700, 1500 and 3100: the wait doubles up to 1.6 s.
  for (const [at, n] of [[0, 1], [100, 2], [300, 3], [700, 4], [1500, 5], [3100, 6]] as const) {
    timers.advance(at - timers.now());
    await waitUntil(() => forwarder.bindings >= n, `request ${n} arrived`);
    expect(f.requestsSent).toBe(n);
  }
  timers.advance(899);
  expect(failures).toEqual([]);
  timers.advance(1);
  expect(failures).toEqual(["the room's forwarder did not answer within 4 s"]);
  timers.advance(5000);
  expect(f.requestsSent).toBe(6);
});

test('an answer not signed with the password, or to another transaction, is not taken', async () => {
  const server = dgram.createSocket('udp4');
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
  const requests: Buffer[] = [];
  server.on('message', (m) => requests.push(m));
  const f = new ForwarderLink({ link, server: { ip: '127.0.0.1', port: server.address().port }, forward: { username: 'ann', password: 'pw' }, timers });
  let handled = 0;
  link.on('packet', (buf: Buffer) => {
    handled++;
    f.handle(buf);
  });
  f.start();
  await waitUntil(() => requests.length === 1, 'the request arrived');
  const tid = parseStun(requests[0])!.transactionId;
  const to = { ip: '127.0.0.1', port: link.port };
  server.send(encodeStun(STUN_BINDING_SUCCESS, tid, { xorMappedAddress: to }, Buffer.from('not-pw')), link.port, '127.0.0.1');
  server.send(encodeStun(STUN_BINDING_SUCCESS, tid, { xorMappedAddress: to }), link.port, '127.0.0.1');
  server.send(encodeStun(STUN_BINDING_SUCCESS, Buffer.alloc(12, 7), { xorMappedAddress: to }, Buffer.from('pw')), link.port, '127.0.0.1');
  await waitUntil(() => handled === 3, 'the answers arrived');
  expect(f.rejected).toBe(3);
  expect(f.address).toBeNull();
  const registered = waitFor(f, 'registered');
  server.send(encodeStun(STUN_BINDING_SUCCESS, tid, { xorMappedAddress: to }, Buffer.from('pw')), link.port, '127.0.0.1');
  await registered;
  f.close();
  server.close();
});

test('the registration is refreshed every keepalive period, and not after close', async () => {
  const f = forwarderLink(forwarder.allow('ann'), { keepaliveMs: 10_000 });
  const registered = waitFor(f, 'registered');
  f.start();
  await registered;
  timers.advance(9_999);
  expect(f.requestsSent).toBe(1);
  timers.advance(1);
  await waitUntil(() => forwarder.answered >= 2, 'the refresh was answered');
  timers.advance(10_000);
  await waitUntil(() => forwarder.answered >= 3, 'the second refresh was answered');
  f.close();
  timers.advance(60_000);
  expect(f.requestsSent).toBe(3);
  expect(timers.size).toBe(0);
});
