/** Learning the media socket's server-reflexive address (STUN Binding, RFC 8489). */
import dgram from 'node:dgram';
import { gatherReflexive } from '../../src/media/ice/gather';
import { UdpLink } from '../../src/media/udp-link';
import { encodeBindingSuccess, parseBindingRequest } from '../../src/protocol/stun';
import { testServer } from '../helpers/signaling';

/** A STUN server of the test's own: `reply` decides what each request gets. */
async function stunServer(reply: (txid: Buffer, n: number) => Buffer | null) {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  let n = 0;
  s.on('message', (m, r) => {
    const txid = parseBindingRequest(m);
    if (!txid) return;
    const out = reply(txid, n++);
    if (out) s.send(out, r.port, r.address);
  });
  return { port: s.address().port, requests: () => n, close: () => s.close() };
}

test("from the parley server's UDP port: the socket's own address and port, as srflx with its priority", async () => {
  const server = await testServer();
  const link = await UdpLink.open({ host: '127.0.0.1' });
  try {
    const c = await gatherReflexive(link, { host: '127.0.0.1', port: server.udpPort });
    expect(c).toEqual({ ip: '127.0.0.1', port: link.port, type: 'srflx', priority: 100 * 2 ** 24 + 65535 * 2 ** 8 + 255 });
  } finally {
    link.close();
    await server.close();
  }
});

test('lost requests are sent again; an answer to another transaction or a junk address counts for nothing', async () => {
  const stun = await stunServer((txid, n) => {
    if (n === 0) return null;
    if (n === 1) return encodeBindingSuccess(Buffer.alloc(12, 9), '198.51.100.9', 1234);
    if (n === 2) return encodeBindingSuccess(txid, '224.0.0.1', 1234);
    return encodeBindingSuccess(txid, '203.0.113.5', 40000);
  });
  const link = await UdpLink.open({ host: '127.0.0.1' });
  try {
    expect(await gatherReflexive(link, { host: '127.0.0.1', port: stun.port }, { timeoutMs: 2000 })).toMatchObject({ ip: '203.0.113.5', port: 40000 });
    expect(stun.requests()).toBe(4);
  } finally {
    link.close();
    stun.close();
  }
});

test('no answer: null once the timeout passes, after a bounded number of requests', async () => {
  const stun = await stunServer(() => null);
  const link = await UdpLink.open({ host: '127.0.0.1' });
  try {
    expect(await gatherReflexive(link, { host: '127.0.0.1', port: stun.port }, { timeoutMs: 500 })).toBeNull();
    await new Promise((r) => setTimeout(r, 300));
    expect(stun.requests()).toBe(3);
  } finally {
    link.close();
    stun.close();
  }
});
