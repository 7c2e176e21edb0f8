import { RawClient, ServerChild } from '../helpers/signaling';

/**
 * Connections that drip an unfinished line one byte per TCP segment cost the server memory in
 * proportion to the bytes it holds for them, not a buffer (and a pooled slab) per segment.
 */
jest.setTimeout(180_000);

const CONNECTIONS = 10;
const BYTES = 16 * 1024;

let server: ServerChild;
afterAll(() => server.stop());

test('10 connections each holding 16 KiB dripped a byte at a time cost the server at most a few times the bytes held', async () => {
  server = await ServerChild.start();
  const drippers = await Promise.all(Array.from({ length: CONNECTIONS + 1 }, () => RawClient.connect(server.port)));
  for (const d of drippers) d.socket.setNoDelay(true);
  // A first round on one connection, finished, so the code that handles it is warm before measuring.
  const warm = drippers.pop()!;
  await drip([warm], 2048);
  warm.sendRaw('\n');
  expect(await warm.next(30_000)).toMatchObject({ code: 'bad_request' });
  const before = await server.memory();
  await drip(drippers, BYTES);
  // Everything written has been read: a ping on a fresh connection is answered after it.
  const probe = await RawClient.connect(server.port);
  probe.send({ type: 'ping', req: 1 });
  expect(await probe.next(60_000)).toEqual({ type: 'pong', req: 1 });
  for (const d of drippers) expect(d.closed).toBe(false);
  const after = await server.memory();
  const held = CONNECTIONS * BYTES;
  const grew = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
  process.stdout.write(`drip: ${held} bytes held; the server's heap and buffers grew by ${grew} bytes (${(grew / held).toFixed(1)}×)\n`);
  expect(grew).toBeLessThan(4 * held);
  // And the lines are whole once finished.
  for (const d of drippers) d.sendRaw('\n');
  for (const d of drippers) expect(await d.next(30_000)).toMatchObject({ type: 'error', code: 'bad_request', message: 'invalid JSON' });
  for (const d of [...drippers, warm, probe]) d.socket.destroy();
});

async function drip(to: RawClient[], bytes: number): Promise<void> {
  const byte = Buffer.from('a');
  for (let i = 0; i < bytes; i++) {
    for (const d of to) d.socket.write(byte);
    // One round per turn of the event loop, so each byte leaves in a segment of its own.
    await new Promise((r) => setImmediate(r));
  }
}
