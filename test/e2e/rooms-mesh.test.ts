/**
 * Mesh rooms end to end, on one machine: a real parley-server and real phones with tones. In a
 * mesh members send to each other directly (the forwarder copies next to nothing); a member
 * no one can reach directly makes its pairs fail, and the room falls back to the forwarder with
 * everyone still heard; a room that grows past MESH_MAX moves to the forwarder; a server without
 * a forwarder runs every room as a mesh.
 */
import dgram from 'node:dgram';
import { startServer, type RunningServer } from '../../src/server';
import { MESH_MAX } from '../../src/client/room/room-terms';
import type { Candidate } from '../../src/media/candidates';
import { waitUntil } from '../helpers/wait';
import { expectEveryoneHeard, once, played, RoomTestbed, type Member } from './room-helpers';

jest.setTimeout(90_000);

let server: RunningServer;
const bed = new RoomTestbed(() => server);

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

/** Every member's pairs to the others connected. */
function meshUp(members: Member[]): boolean {
  return members.every((m) => {
    const pairs = m.room.media?.stats().pairs ?? {};
    return members.every((o) => o === m || pairs[o.name] === 'connected');
  });
}

test('a mesh of four (asked by the owner): everyone hears the others, the media goes direct, each member uploads one copy per other member', async () => {
  const before = forwarded();
  const tones = [440, 620, 930, 1310];
  const members = await bed.room('mesh', tones, { topology: 'mesh' });
  expect(members.map((m) => m.room.terms?.topology)).toEqual(tones.map(() => 'mesh'));
  await waitUntil(() => meshUp(members), 'every pair connected');
  const marks = members.map((m) => m.room.media!.stats());
  const copiedBefore = forwarded();
  await played(members, 2);
  expectEveryoneHeard(members);
  // Only what went before the pairs connected passed the forwarder: well under a second of one member's stream.
  expect(copiedBefore - before).toBeLessThan(50 * (tones.length - 1));
  expect(forwarded() - copiedBefore).toBe(0);
  for (const [i, m] of members.entries()) {
    const now = m.room.media!.stats();
    const sealed = now.sent.packets - marks[i].sent.packets;
    expect(sealed).toBeGreaterThan(50);
    expect(now.uploaded.packets - marks[i].uploaded.packets).toBe(sealed * (tones.length - 1));
  }
});

test('a member nobody can reach directly: its pairs fail on both sides, everyone falls back to the forwarder, and all are still heard', async () => {
  // The walled-in member advertises a dead end, and a firewall lets its socket talk to the server only.
  let walled = -1;
  const deadEnd = (host: Candidate[]): Candidate[] => {
    walled = host[0].port;
    return [{ ...host[0], port: 9 }];
  };
  const udpPort = server.udpPort;
  const original = dgram.Socket.prototype.send;
  const spy = jest.spyOn(dgram.Socket.prototype, 'send').mockImplementation(function (this: dgram.Socket, ...args: unknown[]) {
    const port = args[1] as number;
    const mine = this.address().port;
    const across = (mine === walled && port !== udpPort) || (port === walled && mine !== udpPort);
    if (across) return;
    return (original as (...a: unknown[]) => void).apply(this, args);
  });
  try {
    const members = await bed.room('fallback', [440, 930, 1310], { topology: 'mesh', members: (i) => (i === 2 ? { phone: { candidates: deadEnd } } : {}) });
    expect(members.map((m) => m.room.terms?.topology)).toEqual(['mesh', 'mesh', 'mesh']);
    const [a, b, w] = members;
    // a–b connect; a–w and b–w fail on both ends (the agent's timeout: 5 s).
    await waitUntil(
      () => {
        const s = (m: Member) => m.room.media!.stats().pairs;
        return s(a)[b.name] === 'connected' && s(a)[w.name] === 'failed' && s(b)[w.name] === 'failed' && s(w)[a.name] === 'failed' && s(w)[b.name] === 'failed';
      },
      'the walled member’s pairs failed',
      20_000,
    );
    const before = forwarded();
    await played(members, 2);
    expectEveryoneHeard(members);
    // Each member's stream went to the forwarder, once, and on to the two others.
    expect(forwarded() - before).toBeGreaterThan(3 * 2 * 50);
    for (const m of members) {
      const { sent, uploaded } = m.room.media!.stats();
      expect(uploaded.packets).toBeLessThanOrEqual(sent.packets + 2 * 50);
    }
  } finally {
    spy.mockRestore();
  }
});

test(`a mesh room that grows past ${MESH_MAX} moves to the forwarder: the same codec re-offered, everyone hears everyone`, async () => {
  const tones = [440, 620, 930, 1310, 1700, 2100, 2500].slice(0, MESH_MAX + 1);
  const id = 'growing';
  const members = await bed.room(id, tones.slice(0, MESH_MAX));
  // Up to MESH_MAX the owner offers mesh by itself.
  expect(members.map((m) => m.room.terms?.topology)).toEqual(members.map(() => 'mesh'));
  await waitUntil(() => meshUp(members), 'every pair connected');
  const moved = members.map((m) => once(m.room, 'started'));
  const late = await bed.member(`late-${id}`, tones[MESH_MAX], id);
  for (const s of await Promise.all(moved)) expect(s.terms.topology).toBe('forward');
  await waitUntil(() => late.room.terms?.topology === 'forward', 'the latecomer on the forward terms');
  const all = [...members, late];
  for (const m of all) expect(m.room.terms?.codec.name).toBe('opus');
  const before = forwarded();
  await played(all, 2);
  expectEveryoneHeard(all);
  expect(forwarded() - before).toBeGreaterThan(all.length * (all.length - 1) * 50);
  for (const m of members) expect(m.room.media!.stats().pairs).toEqual({});
});

describe('a server without a forwarder', () => {
  let bare: RunningServer;
  const bareBed = new RoomTestbed(() => bare);
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
    expect(members.map((m) => m.room.terms?.topology)).toEqual(tones.map(() => 'mesh'));
    await waitUntil(() => meshUp(members), 'every pair connected');
    await played(members, 2);
    expectEveryoneHeard(members);
  });
});
