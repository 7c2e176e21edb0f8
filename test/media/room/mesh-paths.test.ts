/**
 * Mesh paths on loopback: three members, each with one socket and a MeshPaths on it, their
 * signals passed by hand (as room.signal would). Every pair connects, each agent answers only
 * its own member's checks, media goes out once per member, bad signals are counted and never
 * thrown; and a room's media without a forwarder reports a member it cannot reach.
 */
import { SilenceSource } from '../../../src/audio';
import { newSenderKey } from '../../../src/media/crypto/sender-keys';
import { MeshPaths, parseMeshSignal, type MeshSignal } from '../../../src/media/room/mesh-paths';
import { RoomMedia } from '../../../src/media/room/room-media';
import type { Address } from '../../../src/media/udp-link';
import { UdpLink } from '../../../src/media/udp-link';
import { waitUntil } from '../../helpers/wait';
import { MemorySink, OPUS_20 } from './room-harness';

const open: UdpLink[] = [];
const meshes: MeshPaths[] = [];
afterEach(() => {
  for (const m of meshes.splice(0)) m.close();
  for (const l of open.splice(0)) l.close();
});

interface Node {
  name: string;
  link: UdpLink;
  mesh: MeshPaths;
  /** Media packets taken from proven addresses. */
  media: { from: Address; buf: Buffer }[];
}

async function nodes(names: string[], deliver: (from: string, to: string, body: MeshSignal) => void): Promise<Node[]> {
  const out: Node[] = [];
  for (const name of names) {
    const link = await UdpLink.open({ host: '127.0.0.1' });
    open.push(link);
    const mesh = new MeshPaths({ link, me: name, candidates: link.candidates(), allowLoopback: true, signal: (to, body) => deliver(name, to, body) });
    meshes.push(mesh);
    const node: Node = { name, link, mesh, media: [] };
    link.on('packet', (buf, from) => {
      if (buf[0] >> 6 === 0) mesh.handleStun(buf, from);
      else if (mesh.accepts(from)) node.media.push({ from, buf });
    });
    out.push(node);
  }
  return out;
}

test('three members: every pair connects, and one send reaches each other member once', async () => {
  const byName = new Map<string, Node>();
  const all = await nodes(['ann', 'bob', 'cat'], (from, to, body) => setImmediate(() => byName.get(to)!.mesh.signal(from, JSON.parse(JSON.stringify(body)))));
  for (const n of all) byName.set(n.name, n);
  for (const n of all) for (const o of all) if (o !== n) n.mesh.add(o.name);
  await waitUntil(() => all.every((n) => n.mesh.allConnected && Object.keys(n.mesh.states()).length === 2), 'every pair connected', 10_000);
  const rtp = Buffer.alloc(40, 7);
  rtp[0] = 0x80;
  expect(all[0].mesh.send(rtp)).toBe(2);
  await waitUntil(() => all[1].media.length === 1 && all[2].media.length === 1, 'the packet at bob and cat');
  expect(all[0].media).toHaveLength(0);
  // A member that goes: its agent stops, and its address is no longer taken.
  all[1].mesh.remove('cat');
  expect(all[1].mesh.states()).toEqual({ ann: 'connected' });
  expect(all[1].mesh.accepts({ ip: '127.0.0.1', port: all[2].link.port })).toBe(false);
});

test('signals that are not one are counted, never thrown; a checker with the wrong credentials is not answered', async () => {
  const [ann] = await nodes(['ann'], () => undefined);
  for (const body of [null, 7, 'x', { ice: { ufrag: 'no', pwd: 'short' } }, { candidates: 'many' }, { candidates: new Array(20).fill({}) }]) expect(ann.mesh.signal('bob', body)).toBe(false);
  // Candidates before any credentials: nothing to check them with.
  expect(ann.mesh.signal('bob', { candidates: [{ ip: '127.0.0.1', port: 9, type: 'host' }] })).toBe(false);
  expect(ann.mesh.malformed).toBe(7);
  expect(parseMeshSignal({ candidates: [{ ip: 'nope' }, { ip: '127.0.0.1', port: 9, type: 'host' }] })?.candidates).toHaveLength(1);
  // A Binding request under someone else's ufrag is no agent's.
  const { encodeStun, STUN_BINDING_REQUEST } = await import('../../../src/protocol/stun');
  const req = encodeStun(STUN_BINDING_REQUEST, Buffer.alloc(12, 1), { username: 'xxxx:yyyy', priority: 1 }, Buffer.from('p'.repeat(22)));
  expect(ann.mesh.handleStun(req, { ip: '127.0.0.1', port: 9 })).toBe(false);
});

test('room media without a forwarder: a member whose pair fails is reported unreachable', async () => {
  const link = await UdpLink.open({ host: '127.0.0.1' });
  const media = new RoomMedia({
    link,
    codec: OPUS_20,
    send: newSenderKey(),
    source: new SilenceSource(),
    sink: new MemorySink(),
    mesh: { me: 'ann', candidates: link.candidates(), allowLoopback: true, signal: () => undefined, ice: { timeoutMs: 300 } },
  });
  expect(media.topology).toBe('mesh');
  const unreachable = new Promise((r) => media.once('unreachable', r));
  await media.start();
  try {
    media.addPeer('bob');
    // Bob's credentials and a candidate nobody answers at.
    media.signal('bob', { ice: { ufrag: 'bobb', pwd: 'b'.repeat(22) }, candidates: [{ ip: '127.0.0.1', port: 9, type: 'host' }] });
    expect(await unreachable).toBe('bob');
    expect(media.stats().pairs).toEqual({ bob: 'failed' });
    media.signal('bob', { what: 'ever' });
    media.signal('nobody', { ice: { ufrag: 'nobo', pwd: 'n'.repeat(22) } });
    expect(media.stats().malformedSignals).toBe(2);
  } finally {
    await media.stop();
  }
});
