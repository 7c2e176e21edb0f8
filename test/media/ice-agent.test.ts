/**
 * ICE connectivity checks (RFC 8445) between two agents on real UDP sockets, and the bounds a
 * hostile offer cannot lift. A 1.6 KB offer listing 32 addresses (the callee's own loopback
 * among them) once made an answering callee send ~6,400 checks over 10 s to wherever the caller
 * chose; now at most 5 routable addresses are checked, paced, for at most `timeoutMs`.
 */
import dgram from 'node:dgram';
import os from 'node:os';
import type { Candidate } from '../../src/media/candidates';
import { IceAgent, type IceAgentOptions } from '../../src/media/ice/agent';
import { candidatesToCheck } from '../../src/media/ice/pairs';
import type { PathInfo } from '../../src/media/ice/pairs';
import { UdpLink, type Address } from '../../src/media/udp-link';
import { encodeStun, parseStun, STUN_BINDING_REQUEST, STUN_BINDING_SUCCESS } from '../../src/protocol/stun';
import { PEER_ICE, SELF_ICE } from '../helpers/ice-peer';
import { waitFor, waitUntil } from '../helpers/wait';

/** An agent on its own loopback socket, handed every STUN datagram that arrives. */
async function agentOn(link: UdpLink, opts: Omit<IceAgentOptions, 'link'>): Promise<IceAgent> {
  const agent = new IceAgent({ link, ...opts });
  link.on('packet', (buf, from) => agent.handleStun(buf, from));
  return agent;
}

const host = (link: UdpLink): Candidate => ({ ip: '127.0.0.1', port: link.port, type: 'host' });

async function pair(tuning: Partial<IceAgentOptions> = {}) {
  const [a, b] = await Promise.all([UdpLink.open({ host: '127.0.0.1' }), UdpLink.open({ host: '127.0.0.1' })]);
  const caller = await agentOn(a, { local: SELF_ICE, remote: PEER_ICE, controlling: true, localCandidates: [host(a)], remoteCandidates: [host(b)], ...tuning });
  const callee = await agentOn(b, { local: PEER_ICE, remote: SELF_ICE, controlling: false, localCandidates: [host(b)], remoteCandidates: [host(a)], ...tuning });
  return {
    a,
    b,
    caller,
    callee,
    close() {
      caller.stop();
      callee.stop();
      a.close();
      b.close();
    },
  };
}

test('two agents find the pair, the caller nominates it, and both say which path it is', async () => {
  const p = await pair();
  try {
    const callerPath = waitFor<[PathInfo]>(p.caller, 'path');
    const calleePath = waitFor<[PathInfo]>(p.callee, 'path');
    p.callee.start();
    p.caller.start();
    const [[mine], [theirs]] = await Promise.all([callerPath, calleePath]);
    expect(mine).toMatchObject({ kind: 'host', remote: { ip: '127.0.0.1', port: p.b.port, type: 'host' }, local: { type: 'host', port: p.a.port } });
    expect(theirs).toMatchObject({ kind: 'host', remote: { port: p.a.port } });
    await waitUntil(() => p.caller.path?.nominated === true && p.callee.path?.nominated === true, 'the nomination on both sides');
    expect(p.caller.accepts({ ip: '127.0.0.1', port: p.b.port })).toBe(true);
    expect(p.caller.accepts({ ip: '127.0.0.1', port: 9 })).toBe(false);
    expect(p.caller.rttMs).not.toBeNull();
  } finally {
    p.close();
  }
});

test('a check with the wrong password is not answered and proves nothing', async () => {
  const link = await UdpLink.open({ host: '127.0.0.1' });
  const agent = await agentOn(link, { local: SELF_ICE, remote: PEER_ICE, controlling: false, localCandidates: [], remoteCandidates: [], timeoutMs: 2000 });
  const attacker = dgram.createSocket('udp4');
  await new Promise<void>((r) => attacker.bind(0, '127.0.0.1', () => r()));
  const replies: Buffer[] = [];
  attacker.on('message', (m) => replies.push(m));
  try {
    agent.start();
    const forged = encodeStun(STUN_BINDING_REQUEST, Buffer.alloc(12, 7), { username: `${SELF_ICE.ufrag}:${PEER_ICE.ufrag}`, priority: 1, iceControlling: 1n }, Buffer.from('not the password at all!'));
    const unsigned = encodeStun(STUN_BINDING_REQUEST, Buffer.alloc(12, 8), { username: `${SELF_ICE.ufrag}:${PEER_ICE.ufrag}`, priority: 1 });
    for (const m of [forged, unsigned, Buffer.alloc(600, 1), Buffer.from([0, 1, 0, 0])]) attacker.send(m, link.port, '127.0.0.1');
    const honest = encodeStun(STUN_BINDING_REQUEST, Buffer.alloc(12, 9), { username: `${SELF_ICE.ufrag}:${PEER_ICE.ufrag}`, priority: 1, iceControlling: 1n }, Buffer.from(SELF_ICE.pwd));
    attacker.send(honest, link.port, '127.0.0.1');
    await waitUntil(() => replies.length > 0, 'the honest check to be answered');
    await new Promise((r) => setTimeout(r, 100));
    // Only the honest check got an answer (one, no larger than it); its sender is then checked back.
    const answers = replies.filter((r) => parseStun(r)?.type === STUN_BINDING_SUCCESS);
    expect(answers.map((r) => parseStun(r)!.transactionId)).toEqual([Buffer.alloc(12, 9)]);
    expect(answers[0].length).toBeLessThanOrEqual(honest.length);
    expect(replies.every((r) => parseStun(r) !== null)).toBe(true);
  } finally {
    agent.stop();
    link.close();
    attacker.close();
  }
});

/** UDP sockets that count what reaches them. */
async function listeners(ip: string, n: number) {
  const sockets = await Promise.all(
    Array.from({ length: n }, async () => {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, ip, () => r()));
      return s;
    }),
  );
  const counts = sockets.map(() => 0);
  sockets.forEach((s, i) => s.on('message', () => counts[i]++));
  return { candidates: sockets.map((s): Candidate => ({ ip, port: s.address().port, type: 'host' })), counts, close: () => sockets.forEach((s) => s.close()) };
}

const routable = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

test('a hostile offer: at most 5 addresses, never our loopback, paced, and checks stop at the timeout', async () => {
  const loop = await listeners('127.0.0.1', 4);
  const far = routable ? await listeners(routable, 28) : null;
  const link = await UdpLink.open({ host: routable ?? '0.0.0.0' });
  const agent = new IceAgent({
    link,
    local: PEER_ICE,
    remote: SELF_ICE,
    controlling: false,
    localCandidates: [],
    remoteCandidates: [...loop.candidates, ...(far?.candidates ?? [])],
    timeoutMs: 1500,
  });
  try {
    expect(agent.checked.every((a: Address) => a.ip !== '127.0.0.1')).toBe(true);
    expect(agent.checked.length).toBe(far ? 5 : 0);
    const failed = waitFor<[string]>(agent, 'failed', 10_000);
    const started = Date.now();
    agent.start();
    const [why] = await failed;
    expect(why).toMatch(/no media path to the peer/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    await new Promise((r) => setTimeout(r, 300));
    expect(loop.counts).toEqual([0, 0, 0, 0]);
    if (far) {
      const sent = far.counts.reduce((x, y) => x + y, 0);
      expect(far.counts.filter((c) => c > 0)).toHaveLength(5);
      // Each address: a first check and retries at 100, 300, 700 ms (1.5 s window); never more.
      expect(sent).toBeLessThanOrEqual(5 * 5);
    }
  } finally {
    agent.stop();
    link.close();
    loop.close();
    far?.close();
  }
});

test('candidatesToCheck keeps usable addresses once each, best priority first', () => {
  const list: Candidate[] = [
    { ip: '198.51.100.7', port: 4000, type: 'relay' },
    { ip: '203.0.113.9', port: 5000, type: 'srflx' },
    { ip: '192.0.2.10', port: 6000, type: 'host' },
    { ip: '192.0.2.10', port: 6000, type: 'host' },
    { ip: '127.0.0.1', port: 7000, type: 'host' },
    { ip: '169.254.1.1', port: 7000, type: 'host' },
    { ip: '224.0.0.1', port: 7000, type: 'host' },
    { ip: '::1', port: 7000, type: 'host' },
    { ip: '192.0.2.11', port: 0, type: 'host' },
  ];
  const chosen = candidatesToCheck(list, { allowLoopback: false, allowLinkLocal: false, max: 5 });
  expect(chosen.map((c) => `${c.type} ${c.ip}`)).toEqual(['host 192.0.2.10', 'srflx 203.0.113.9', 'relay 198.51.100.7']);
});

test('a path that stops answering is dropped, checked again, and the call fails when nothing answers', async () => {
  const p = await pair({ consentIntervalMs: 100, consentTimeoutMs: 500, timeoutMs: 1000 });
  try {
    p.callee.start();
    p.caller.start();
    await waitFor(p.caller, 'path');
    const disconnected = waitFor<[string]>(p.caller, 'disconnected', 10_000);
    const failed = waitFor<[string]>(p.caller, 'failed', 10_000);
    p.callee.stop();
    const [why] = await disconnected;
    expect(why).toMatch(/stopped answering/);
    expect(p.caller.path).toBeNull();
    await failed;
  } finally {
    p.close();
  }
});

test('when the peer turns up at a new address (a NAT rebinding), the path follows it', async () => {
  // A one-way "NAT" in front of the callee: what the callee sends leaves from `outer`.
  const p = await pair({ consentIntervalMs: 100, consentTimeoutMs: 600 });
  const nat = { outer: dgram.createSocket('udp4') };
  const bindOuter = async () => {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    s.on('message', (m) => p.b.emit('packet', m, { ip: '127.0.0.1', port: p.a.port }));
    return s;
  };
  try {
    nat.outer = await bindOuter();
    // The callee's sends go out through the NAT's current outer socket.
    const send = p.b.send.bind(p.b);
    p.b.send = (buf, to) => (to.port === p.a.port ? nat.outer.send(buf, to.port, to.ip) : send(buf, to));
    p.callee.start();
    p.caller.start();
    await waitUntil(() => p.caller.path !== null && p.callee.path !== null, 'the first path');
    const first = p.caller.path!.remote.port;
    expect(first).toBe(nat.outer.address().port);
    const old = nat.outer;
    nat.outer = await bindOuter();
    old.close();
    await waitUntil(() => p.caller.path?.remote.port === nat.outer.address().port, 'the caller to follow the new mapping', 10_000);
    expect(p.caller.path).toMatchObject({ remote: { type: 'prflx' } });
  } finally {
    nat.outer.close();
    p.close();
  }
});

test('the call starts on the first pair that answers and moves up when a better trickled one answers', async () => {
  const [a, b] = await Promise.all([UdpLink.open({ host: '127.0.0.1' }), UdpLink.open({ host: '127.0.0.1' })]);
  // A relay of sorts: the callee reachable through a forwarder too, offered as the only (relay) candidate.
  const fwd = dgram.createSocket('udp4');
  await new Promise<void>((r) => fwd.bind(0, '127.0.0.1', () => r()));
  fwd.on('message', (m, r) => fwd.send(m, r.port === b.port ? a.port : b.port, '127.0.0.1'));
  const caller = await agentOn(a, {
    local: SELF_ICE,
    remote: PEER_ICE,
    controlling: true,
    localCandidates: [host(a)],
    remoteCandidates: [{ ip: '127.0.0.1', port: fwd.address().port, type: 'relay' }],
  });
  const callee = await agentOn(b, { local: PEER_ICE, remote: SELF_ICE, controlling: false, localCandidates: [host(b)], remoteCandidates: [] });
  try {
    const first = waitFor<[PathInfo]>(caller, 'path');
    callee.start();
    caller.start();
    expect((await first)[0]).toMatchObject({ kind: 'relay', remote: { port: fwd.address().port } });
    const paths: PathInfo[] = [];
    caller.on('path', (x) => paths.push(x));
    expect(caller.addRemoteCandidate(host(b))).toBe(true);
    await waitUntil(() => caller.path?.kind === 'host', 'the direct pair to take over');
    expect(caller.path).toMatchObject({ remote: { port: b.port, type: 'host' }, why: expect.stringMatching(/^a better pair answered/) });
    expect(paths.at(-1)?.kind).toBe('host');
  } finally {
    caller.stop();
    callee.stop();
    fwd.close();
    a.close();
    b.close();
  }
});
