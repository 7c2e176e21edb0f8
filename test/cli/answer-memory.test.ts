/**
 * A long-running `parley answer --auto` releases each call when it ends: listeners, timers,
 * sockets and native codecs. Measured black-box, as the resident memory of the real process
 * while a caller calls, is accepted and hangs up in a loop.
 */
import { readFileSync } from 'node:fs';
import type { RunningServer } from '../../src';
import { RawClient, testServer } from '../helpers/signaling';
import { run } from './helpers/parley';
import { CallSecurity } from '../../src/media/crypto/call-security';
import { Identity } from '../../src/media/crypto/identity';

jest.setTimeout(180_000);

let server: RunningServer;
afterEach(async () => {
  await server?.close();
});

function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  return kb / 1024;
}

const offer = {
  v: 1,
  codecs: [{ name: 'opus', payloadType: 111, clockRate: 48000, frameMs: 20 }],
  red: { payloadType: 63 },
  candidates: [{ ip: '127.0.0.1', port: 9, type: 'host' }],
  ssrc: 1234,
  ice: { ufrag: 'alice', pwd: 'alicepasswordalicepassword' },
  // Media is always encrypted: an offer carries a signed key, or is refused as incompatible.
  crypto: new CallSecurity(Identity.generate()).describe({ role: 'caller', ssrc: 1234, ufrag: 'alice' }),
};

/** The next message that is not a trickled candidate (the callee may trickle its relay's at any time). */
async function nextReply(alice: RawClient): Promise<Record<string, unknown> & { type: string }> {
  for (;;) {
    const m = await alice.next(10_000);
    if (m.type !== 'candidate') return m;
  }
}

/**
 * One whole call as a caller sees it: call, ringing, accepted, hang up, ok. A callee still
 * finishing the last call may answer busy: then the call is placed again.
 */
async function oneCall(alice: RawClient): Promise<void> {
  let ringing;
  let answer;
  do {
    alice.send({ type: 'call', to: 'bob', offer });
    ringing = await nextReply(alice);
    if (ringing.type === 'error' && ringing.code === 'busy') continue;
    if (ringing.type !== 'ringing') throw new Error(`expected ringing, got ${JSON.stringify(ringing)}`);
    answer = await nextReply(alice);
  } while (!answer || (answer.type === 'rejected' && answer.reason === 'busy'));
  if (answer.type !== 'accepted') throw new Error(`expected accepted, got ${JSON.stringify(answer)}`);
  alice.send({ type: 'hangup', call: ringing.call });
  const ok = await nextReply(alice);
  if (ok.type !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(ok)}`);
}

test('memory after 2,000 answered calls is within a few MB of after 300', async () => {
  server = await testServer(LOOSE_LIMITS);
  const bob = run(['answer', '--auto', '--name', 'bob', '--server', `127.0.0.1:${server.port}`]);
  try {
    await bob.waitErr('waiting for calls as bob');
    const alice = await RawClient.register(server.port, 'alice');
    for (let i = 0; i < 300; i++) await oneCall(alice);
    const warm = rssMiB(bob.child.pid!);
    for (let i = 0; i < 1700; i++) await oneCall(alice);
    const after = rssMiB(bob.child.pid!);
    // A leak of a call's objects (its media session, jitter buffer, native encoder) is about
    // 130 KB a call: 220 MB over these 1,700 calls. Heap growth and allocator noise are a few MB.
    expect(after - warm).toBeLessThan(40);
    await alice.close();
  } finally {
    bob.child.kill('SIGTERM');
    await bob.exited;
  }
});

/** The server's own defences against call floods would slow this loop: they are not what is tested. */
const LOOSE_LIMITS = {
  limits: {
    requests: { perSecond: 1e6, burst: 1e6 },
    callsPlaced: { perSecond: 1e6, burst: 1e6 },
    callsReceived: { perSecond: 1e6, burst: 1e6 },
  },
};
