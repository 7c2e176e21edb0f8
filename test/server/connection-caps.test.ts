import { RawClient, ServerChild, useTestServer } from '../helpers/signaling';
import { waitUntil } from '../helpers/wait';
import { ManualClock } from './manual-clock';

jest.setTimeout(60_000);

describe('connection caps', () => {
  const clock = new ManualClock();
  const t = useTestServer({ clock, limits: { maxConnections: 3, maxConnectionsPerAddress: 2 } });

  test('past the per-address cap a new connection is told why and closed; one leaving makes room', async () => {
    const a = await t.registered('a');
    await t.connect();
    const over = await t.connect();
    await over.waitClosed();
    expect(over.received).toEqual([{ type: 'error', code: 'too_many_connections', message: 'too many connections from your address' }]);
    expect(t.server.connections).toBe(2);
    await a.close();
    await waitUntil(() => t.server.connections === 1, 'the server saw a close');
    const next = await t.registered('next');
    await next.quiet();
  });

  test('past the total cap, connections from any address are refused', async () => {
    // From two loopback addresses, so the per-address cap is not the one reached.
    await t.connect();
    await t.connect();
    const other = await RawClient.connect(t.server.port, { from: '127.0.0.2' });
    await other.quiet();
    const over = await RawClient.connect(t.server.port, { from: '127.0.0.2' });
    await over.waitClosed();
    expect(over.received).toEqual([{ type: 'error', code: 'too_many_connections', message: 'the server has as many connections as it takes' }]);
    other.socket.destroy();
  });
});

describe('at the open-file limit', () => {
  let server: ServerChild;
  const clients: RawClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await server.stop();
  });

  test('connections past what the open-file limit allows are refused with a reason and a log line, not dropped unseen', async () => {
    server = await ServerChild.start({ logLevel: 'info' }, { fdLimit: 128 });
    // Connections until one is not served (more than the open-file limit allows, if need be).
    let over: RawClient | null = null;
    for (let i = 0; i < 200 && !over; i++) {
      const c = await RawClient.connect(server.port);
      clients.push(c);
      c.send({ type: 'ping', req: i });
      const reply = await c.next().catch(() => null);
      if (reply?.type !== 'pong') over = c;
    }
    expect(over).not.toBeNull();
    await over!.waitClosed();
    expect(over!.received).toEqual([{ type: 'error', code: 'too_many_connections', message: 'the server is at its open-file limit' }]);
    expect(clients).toHaveLength(64 + 1);
    await waitUntil(() => /warn {2}refused a connection reason=open_files/.test(server.stderr), 'the refusal was logged');
    // The cap sits below the limit, leaving descriptors for the server itself, and it said so at start.
    expect(server.stderr).toMatch(/info {2}connections are capped by the open-file limit \(raise it with ulimit -n\) open_file_limit=128 max_connections=64\n/);
    // Everyone in is still served.
    await clients[0].quiet();
    expect(server.alive).toBe(true);
  });
});
