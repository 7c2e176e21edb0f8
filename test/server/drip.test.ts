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
  const drippers = await Promise.all(Array.from({ length: CONNECTIONS }, () => RawClient.connect(server.port)));
  for (const d of drippers) d.socket.setNoDelay(true);
  const before = await server.memory();
  const byte = Buffer.from('a');
  for (let i = 0; i < BYTES; i++) {
    for (const d of drippers) d.socket.write(byte);
    // One round per turn of the event loop, so each byte leaves in a segment of its own.
    await new Promise((r) => setImmediate(r));
  }
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
  for (const d of [...drippers, probe]) d.socket.destroy();
});
