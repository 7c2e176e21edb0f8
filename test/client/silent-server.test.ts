/** A server that goes silent (a network dropping everything, no FIN) is taken as gone, so a reconnect can begin. */
import net from 'node:net';
import { SignalingClient } from '../../src/client/signaling-client';

test('no reply to three heartbeats in a row closes the connection', async () => {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    // Reads everything, answers nothing.
    s.resume();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as net.AddressInfo).port;
    const client = await SignalingClient.connect({ host: '127.0.0.1', port, heartbeatMs: 30 });
    const closed = await new Promise<{ reason: string }>((r) => client.once('close', r));
    expect(closed.reason).toBe('the server stopped answering');
    expect(client.isOpen).toBe(false);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
});
