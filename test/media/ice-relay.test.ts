/**
 * Connectivity checks through a relay: pairs from this side's TURN allocation are checked
 * alongside the direct ones, carry the audio only while no direct pair answers, and are given
 * up at once where the relay refuses the peer. The relay here is a plain UDP socket standing in
 * for an allocation's relayed address (the TURN framing itself is tested with the allocation).
 */
import dgram from 'node:dgram';
import type { Candidate } from '../../src/media/candidates';
import { IceAgent, type IceAgentOptions, type RelayBase } from '../../src/media/ice/agent';
import type { PathInfo } from '../../src/media/ice/pairs';
import { UdpLink, type Address } from '../../src/media/udp-link';
import { PEER_ICE, SELF_ICE } from '../helpers/ice-peer';
import { waitFor, waitUntil } from '../helpers/wait';

/** A relayed address of this side's: what arrives there is handed to `agent` as relayed. */
class SocketRelay implements RelayBase {
  readonly permitted: Address[] = [];
  sent = 0;
  private agent: IceAgent | undefined;

  private constructor(
    private readonly socket: dgram.Socket,
    readonly relayed: Address,
    private readonly refuse: (peer: Address) => boolean,
  ) {
    socket.on('message', (m, r) => this.agent?.handleStun(m, { ip: r.address, port: r.port }, 'relay'));
  }

  static async open(refuse: (peer: Address) => boolean = () => false): Promise<SocketRelay> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    return new SocketRelay(socket, { ip: '127.0.0.1', port: socket.address().port }, refuse);
  }

  attach(agent: IceAgent): void {
    this.agent = agent;
    agent.addRelay(this);
  }

  send(buf: Buffer, to: Address): void {
    this.sent++;
    this.socket.send(buf, to.port, to.ip);
  }

  permit(peer: Address): void {
    this.permitted.push(peer);
  }

  refused(peer: Address): boolean {
    return this.refuse(peer);
  }

  close(): void {
    this.socket.close();
  }
}

function agentOn(link: UdpLink, opts: Omit<IceAgentOptions, 'link'>): IceAgent {
  const agent = new IceAgent({ link, timeoutMs: 4000, ...opts });
  link.on('packet', (buf, from) => agent.handleStun(buf, from));
  return agent;
}

const host = (link: UdpLink): Candidate => ({ ip: '127.0.0.1', port: link.port, type: 'host' });
/** A port on loopback where nothing listens: a direct address that never answers. */
const DEAD: Candidate = { ip: '127.0.0.1', port: 9, type: 'host' };

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

async function links(): Promise<[UdpLink, UdpLink]> {
  const both = await Promise.all([UdpLink.open({ host: '127.0.0.1' }), UdpLink.open({ host: '127.0.0.1' })]);
  cleanup.push(() => both.forEach((l) => l.close()));
  return both;
}

test('nothing direct answers: the checks go through the callee\'s relay and both sides say "relay"', async () => {
  const [a, b] = await links();
  const relay = await SocketRelay.open();
  cleanup.push(() => relay.close());
  const relayed: Candidate = { ...relay.relayed, type: 'relay' };
  // The caller knows only the callee's relay; the callee's direct checks go to a dead address.
  const caller = agentOn(a, { local: SELF_ICE, remote: PEER_ICE, controlling: true, localCandidates: [host(a)], remoteCandidates: [DEAD, relayed] });
  const callee = agentOn(b, { local: PEER_ICE, remote: SELF_ICE, controlling: false, localCandidates: [host(b)], remoteCandidates: [DEAD] });
  cleanup.push(() => (caller.stop(), callee.stop()));
  relay.attach(callee);
  const callerPath = waitFor<[PathInfo]>(caller, 'path');
  const calleePath = waitFor<[PathInfo]>(callee, 'path');
  callee.start();
  caller.start();
  const [[mine], [theirs]] = await Promise.all([callerPath, calleePath]);
  expect(mine).toMatchObject({ kind: 'relay', remote: { type: 'relay', port: relay.relayed.port } });
  expect(theirs).toMatchObject({ kind: 'relay', local: { type: 'relay', port: relay.relayed.port }, remote: { port: a.port } });
  // The relay was asked to let the caller's offered address through.
  expect(relay.permitted).toContainEqual(expect.objectContaining({ ip: DEAD.ip, port: DEAD.port }));
  await waitUntil(() => caller.path?.nominated === true && callee.path?.nominated === true, 'the nomination on both sides');
  // Media follows the path: the callee's goes out through the relay, and is accepted only from there.
  const before = relay.sent;
  expect(callee.sendMedia(Buffer.from([0x80, 0]))).toBe(true);
  expect(relay.sent).toBe(before + 1);
  expect(callee.accepts({ ip: '127.0.0.1', port: a.port }, 'relay')).toBe(true);
  expect(callee.accepts({ ip: '127.0.0.1', port: a.port }, 'direct')).toBe(false);
});

test('a direct pair that answers carries the audio, though the relay answers too', async () => {
  const [a, b] = await links();
  const relay = await SocketRelay.open();
  cleanup.push(() => relay.close());
  const caller = agentOn(a, { local: SELF_ICE, remote: PEER_ICE, controlling: true, localCandidates: [host(a)], remoteCandidates: [host(b), { ...relay.relayed, type: 'relay' }] });
  const callee = agentOn(b, { local: PEER_ICE, remote: SELF_ICE, controlling: false, localCandidates: [host(b)], remoteCandidates: [host(a)] });
  cleanup.push(() => (caller.stop(), callee.stop()));
  relay.attach(callee);
  callee.start();
  caller.start();
  await waitUntil(() => caller.path?.nominated === true && callee.path?.nominated === true && caller.path.kind === 'host' && callee.path.kind === 'host', 'both on the direct pair');
  // The relay was checked as well (its pairs are lower, not skipped) yet does not carry the audio.
  await waitUntil(() => relay.sent > 0, 'a check through the relay');
  expect(caller.path).toMatchObject({ kind: 'host', remote: { port: b.port } });
});

test('pairs through the relay toward a peer the relay refuses are given up without a check', async () => {
  const [a] = await links();
  const relay = await SocketRelay.open(() => true);
  cleanup.push(() => relay.close());
  const agent = agentOn(a, { local: SELF_ICE, remote: PEER_ICE, controlling: true, localCandidates: [host(a)], remoteCandidates: [DEAD], timeoutMs: 1500 });
  cleanup.push(() => agent.stop());
  relay.attach(agent);
  const failed = waitFor<[string]>(agent, 'failed');
  agent.start();
  await failed;
  expect(relay.sent).toBe(0);
});

test("a peer behind a NAT: the relay is asked for its reflexive address, never for the host addresses behind its NAT", async () => {
  const [a] = await links();
  const relay = await SocketRelay.open();
  cleanup.push(() => relay.close());
  const hidden: Candidate = { ip: '10.0.0.7', port: 5000, type: 'host' };
  const mapped: Candidate = { ip: '203.0.113.9', port: 6000, type: 'srflx' };
  const agent = agentOn(a, { local: SELF_ICE, remote: PEER_ICE, controlling: true, localCandidates: [host(a)], remoteCandidates: [hidden, mapped], timeoutMs: 1000 });
  cleanup.push(() => agent.stop());
  relay.attach(agent);
  // A trickled host address of the same peer is left out too.
  agent.addRemoteCandidate({ ip: '10.0.0.8', port: 5001, type: 'host' });
  expect(relay.permitted).toEqual([expect.objectContaining({ ip: mapped.ip, port: mapped.port })]);
});
