/**
 * A hang-up over the media path (RTCP BYE): it ends the call when the server cannot say so, and
 * it is taken only from the peer's proven address with the peer's SSRC and a tag under the
 * peer's media key.
 */
import dgram from 'node:dgram';
import { startServer, type RunningServer } from '../../src/server';
import { Phone, type ActiveCall, type CallEnd } from '../../src/client/phone';
import { encodeBye } from '../../src/protocol/rtcp-bye';

let server: RunningServer;
const phones: Phone[] = [];

beforeEach(async () => {
  server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0 });
});
afterEach(async () => {
  await Promise.all(phones.splice(0).map((p) => p.close()));
  await server.close();
});

async function phone(name: string): Promise<Phone> {
  const p = await Phone.connect({ server: { host: '127.0.0.1', port: server.port }, udpHost: '127.0.0.1', stun: false, relay: 'off' });
  phones.push(p);
  await p.register(name);
  return p;
}

/** The SSRC the peer sends with, as this call agreed it (not exposed by the API: reached for). */
function peerSsrc(call: ActiveCall): number {
  return (call as unknown as { media: { opts: { agreement: { remoteSsrc: number } } } }).media.opts.agreement.remoteSsrc;
}

test('a BYE from anyone but the peer, or without its key, is dropped; the peer hanging up with the server gone ends the call as its hang-up', async () => {
  const alice = await phone('alice');
  const bob = await phone('bob');
  const bobCall = new Promise<ActiveCall>((r) => bob.once('incoming', (c) => void c.accept().then(r)));
  const aliceCall = await alice.call('bob').result;
  const b = await bobCall;
  // A stranger who knows bob's SSRC and alice's media port, sending from elsewhere.
  const stranger = dgram.createSocket('udp4');
  await new Promise<void>((r) => stranger.bind(0, '127.0.0.1', r));
  const bye = encodeBye(peerSsrc(aliceCall), 'hangup');
  const to = aliceCall.path!.local;
  const before = aliceCall.stats().foreignDropped;
  for (let i = 0; i < 3; i++) stranger.send(bye, to.port, to.ip);
  await new Promise<void>((r) => {
    const check = () => (aliceCall.stats().foreignDropped >= before + 3 ? r() : setTimeout(check, 20));
    check();
  });
  stranger.close();
  expect(aliceCall.ended).toBe(false);
  // From bob's own proven address and with his SSRC, but without the tag only bob's media key
  // makes (or with a made-up one): dropped too.
  const bobLink = (b as unknown as { media: { opts: { link: { send(buf: Buffer, to: { ip: string; port: number }): void } } } }).media.opts.link;
  const forged = [encodeBye(peerSsrc(aliceCall), 'hangup'), encodeBye(peerSsrc(aliceCall), `hangup#${Buffer.alloc(16, 7).toString('base64url')}`)];
  const beforeForged = aliceCall.stats().foreignDropped;
  for (const f of forged) bobLink.send(f, { ip: to.ip, port: to.port });
  await new Promise<void>((r) => {
    const check = () => (aliceCall.stats().foreignDropped >= beforeForged + 2 ? r() : setTimeout(check, 20));
    check();
  });
  expect(aliceCall.ended).toBe(false);
  // The server goes away: only the media path is left to carry bob's hang-up.
  const lost = Promise.all([alice, bob].map((p) => new Promise((r) => p.once('server_reconnecting', r))));
  await server.close();
  await lost;
  const ended = new Promise<CallEnd>((r) => aliceCall.once('ended', r));
  await b.hangup();
  expect(await ended).toMatchObject({ reason: 'hangup', byMe: false, by: 'bob' });
  server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0 });
});
