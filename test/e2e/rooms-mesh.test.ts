/**
 * Mesh rooms end to end, on one machine: a real parley-server and real phones with tones. In a
 * mesh members send to each other directly (the forwarder copies next to nothing); a member
 * no one can reach directly makes its pairs fail, and the room falls back to the forwarder with
 * everyone still heard; a room that grows past MESH_MAX moves to the forwarder; a server without
 * a forwarder runs every room as a mesh. Each member runs in a process of its own
 * (room-children.ts: built code from dist/, so build first): rooms of four to six on this one
 * loop fall behind on a busy machine. The server, and its forwarder, run here.
 */
import { startServer, type RunningServer } from '../../src/server';
import { MESH_MAX } from '../../src/client/room/room-terms';
import { waitUntil } from '../helpers/wait';
import { ChildRoomTestbed, expectEveryoneHeardByChildren, playedByChildren, type ChildMember, type ChildStats } from './room-children';

// Judging waits up to 30 s for two seconds of playback and up to 60 s more for a calm one.
jest.setTimeout(120_000);

let server: RunningServer;
const bed = new ChildRoomTestbed(() => server.port);

beforeAll(async () => {
  server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error', resumeGraceMs: 0 });
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  await bed.close();
});

const forwarded = () => server.rooms.forwarder!.forwarded.packets;

/** Each member's room media figures, each read in its own process at one instant. */
const statsOf = (members: ChildMember[]): Promise<ChildStats[]> => Promise.all(members.map((m) => m.stats()));

/** Every member's pairs to the others connected. */
async function meshUp(members: ChildMember[]): Promise<boolean> {
  const stats = await statsOf(members);
  return members.every((m, i) => members.every((o) => o === m || stats[i].pairs[o.name] === 'connected'));
}

test('a mesh of four (asked by the owner): everyone hears the others, the media goes direct, each member uploads one copy per other member', async () => {
  const before = forwarded();
  const tones = [440, 620, 930, 1310];
  const members = await bed.room('mesh', tones, { topology: 'mesh' });
  expect((await statsOf(members)).map((s) => s.terms?.topology)).toEqual(tones.map(() => 'mesh'));
  await waitUntil(() => meshUp(members), 'every pair connected', undefined, 100);
  // Read after every pair connected (a round trip to each member later): whatever a member sent
  // the forwarder before its last pair connected has reached the server by now.
  const marks = await statsOf(members);
  const copiedBefore = forwarded();
  await playedByChildren(members, 2);
  await expectEveryoneHeardByChildren(members);
  // Only what went before the pairs connected passed the forwarder: well under a second of one member's stream.
  expect(copiedBefore - before).toBeLessThan(50 * (tones.length - 1));
  expect(forwarded() - copiedBefore).toBe(0);
  const now = await statsOf(members);
  for (const [i, m] of marks.entries()) {
    const sealed = now[i].sent! - m.sent!;
    expect(sealed).toBeGreaterThan(50);
    expect(now[i].uploaded! - m.uploaded!).toBe(sealed * (tones.length - 1));
  }
});

test('a member nobody can reach directly: its pairs fail on both sides, everyone falls back to the forwarder, and all are still heard', async () => {
  // The walled-in member advertises a dead end, and a firewall (in its process) lets its socket talk to the server only.
  const walled = { udpPort: server.udpPort };
  const members = await bed.room('fallback', [440, 930, 1310], { topology: 'mesh', members: (i) => (i === 2 ? { walled } : {}) });
  expect((await statsOf(members)).map((s) => s.terms?.topology)).toEqual(['mesh', 'mesh', 'mesh']);
  const [a, b, w] = members;
  // a–b connect; a–w and b–w fail on both ends (the agent's timeout: 5 s).
  await waitUntil(
    async () => {
      const [sa, sb, sw] = (await statsOf(members)).map((s) => s.pairs);
      return sa[b.name] === 'connected' && sa[w.name] === 'failed' && sb[w.name] === 'failed' && sw[a.name] === 'failed' && sw[b.name] === 'failed';
    },
    'the walled member’s pairs failed',
    20_000,
    100,
  );
  const before = forwarded();
  await playedByChildren(members, 2);
  await expectEveryoneHeardByChildren(members);
  // Each member's stream went to the forwarder, once, and on to the two others.
  expect(forwarded() - before).toBeGreaterThan(3 * 2 * 50);
  for (const { sent, uploaded } of await statsOf(members)) {
    expect(uploaded).toBeLessThanOrEqual(sent! + 2 * 50);
  }
});

test(`a mesh room that grows past ${MESH_MAX} moves to the forwarder: the same codec re-offered, everyone hears everyone`, async () => {
  const tones = [440, 620, 930, 1310, 1700, 2100, 2500].slice(0, MESH_MAX + 1);
  const id = 'growing';
  const members = await bed.room(id, tones.slice(0, MESH_MAX));
  // Up to MESH_MAX the owner offers mesh by itself.
  expect((await statsOf(members)).map((s) => s.terms?.topology)).toEqual(members.map(() => 'mesh'));
  await waitUntil(() => meshUp(members), 'every pair connected', undefined, 100);
  const moved = members.map((m) => m.next('started'));
  const late = await bed.member(`late-${id}`, tones[MESH_MAX], id);
  for (const s of await Promise.all(moved)) expect(s.terms.topology).toBe('forward');
  await waitUntil(async () => (await late.stats()).terms?.topology === 'forward', 'the latecomer on the forward terms', undefined, 100);
  const all = [...members, late];
  for (const s of await statsOf(all)) expect(s.terms?.codec.name).toBe('opus');
  const before = forwarded();
  await playedByChildren(all, 2);
  await expectEveryoneHeardByChildren(all);
  expect(forwarded() - before).toBeGreaterThan(all.length * (all.length - 1) * 50);
  for (const s of await statsOf(members)) expect(s.pairs).toEqual({});
});

describe('a server without a forwarder', () => {
  let bare: RunningServer;
  const bareBed = new ChildRoomTestbed(() => bare.port);
  beforeAll(async () => {
    bare = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error', resumeGraceMs: 0, forward: false });
  });
  afterAll(async () => {
    await bare.close();
  });
  afterEach(async () => {
    await bareBed.close();
  });

  test(`runs every room as a mesh, past ${MESH_MAX} members too`, async () => {
    expect(bare.rooms.forwarder).toBeNull();
    const tones = [440, 620, 930, 1310, 1700, 2100, 2500].slice(0, MESH_MAX + 2);
    const members = await bareBed.room('bare', tones);
    expect((await statsOf(members)).map((s) => s.terms?.topology)).toEqual(tones.map(() => 'mesh'));
    await waitUntil(() => meshUp(members), 'every pair connected', undefined, 100);
    await playedByChildren(members, 2);
    await expectEveryoneHeardByChildren(members);
  });
});
