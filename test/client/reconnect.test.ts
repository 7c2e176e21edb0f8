/**
 * A dropped connection with the server still up: the phone reconnects with its resume token,
 * keeps its name (nobody can take it meanwhile) and its live call, and the peer is told.
 */
import net from 'node:net';
import { startServer, type RunningServer } from '../../src/server';
import { Phone, type ActiveCall } from '../../src/client/phone';
import { RawClient } from '../helpers/signaling';
import { waitUntil } from '../helpers/wait';

/** A TCP proxy in front of the server whose connections a test can cut (as a network would). */
class CuttableProxy {
  private readonly sockets = new Set<net.Socket>();
  /** While true, new connections are cut at once (the network is still down). */
  refusing = false;
  private constructor(readonly server: net.Server) {}

  static async start(target: number): Promise<CuttableProxy> {
    let proxy: CuttableProxy;
    const server = net.createServer((inbound) => {
      if (proxy.refusing) return void inbound.destroy();
      const outbound = net.connect(target, '127.0.0.1');
      for (const s of [inbound, outbound]) {
        proxy.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          proxy.sockets.delete(s);
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    proxy = new CuttableProxy(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Cuts every connection through it (the server sees a close, the client too). */
  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((r) => this.server.close(() => r()));
  }
}

let server: RunningServer;
let proxy: CuttableProxy;
const phones: Phone[] = [];

beforeEach(async () => {
  server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0 });
  proxy = await CuttableProxy.start(server.port);
});
afterEach(async () => {
  await Promise.all(phones.splice(0).map((p) => p.close()));
  await proxy.close();
  await server.close();
});

async function phone(name: string, port: number): Promise<Phone> {
  const p = await Phone.connect({ server: { host: '127.0.0.1', port }, udpHost: '127.0.0.1', stun: false, reconnect: { firstDelayMs: 50 } });
  phones.push(p);
  await p.register(name);
  return p;
}

test('a dropped connection resumes with the token: same name, the live call goes on, the peer hears peer_reconnecting then peer_reconnected', async () => {
  const alice = await phone('alice', proxy.port);
  const bob = await phone('bob', server.port);
  const bobCall = new Promise<ActiveCall>((r) => bob.once('incoming', (c) => void c.accept().then(r)));
  const aliceCall = await alice.call('bob').result;
  const b = await bobCall;
  const lost = new Promise((r) => alice.once('server_reconnecting', r));
  const back = new Promise<{ resumed: boolean }>((r) => alice.once('server_reconnected', r));
  const peerAway = new Promise((r) => bob.once('peer_reconnecting', r));
  const peerBack = new Promise((r) => bob.once('peer_reconnected', r));
  // Nobody takes the name while alice is away: held for her until her token comes back.
  proxy.refusing = true;
  proxy.cut();
  await lost;
  expect(await peerAway).toEqual({ call: aliceCall.id, name: 'alice' });
  const thief = await RawClient.connect(server.port);
  thief.send({ type: 'hello', version: 1, name: 'alice', req: 1 });
  expect(await thief.next()).toMatchObject({ type: 'error', code: 'name_taken' });
  thief.socket.destroy();
  expect(aliceCall.ended).toBe(false);
  proxy.refusing = false;
  expect(await back).toMatchObject({ resumed: true });
  expect(await peerBack).toEqual({ call: aliceCall.id, name: 'alice' });
  expect(alice.name).toBe('alice');
  expect(aliceCall.ended).toBe(false);
  // The call's record re-attached to her session.
  expect(await bob.lookup('alice')).toEqual({ name: 'alice', status: 'in-call' });
  const bobEnded = new Promise((r) => b.once('ended', r));
  await aliceCall.hangup();
  expect(await bobEnded).toMatchObject({ reason: 'hangup', by: 'alice' });
  await waitUntil(() => server.clients === 2, 'both still registered');
});

