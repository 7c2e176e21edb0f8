/**
 * Rooms end to end, on one machine: a real parley-server (signaling and its forwarder), real
 * phones with tone sources and recording sinks. Everyone hears everyone else's tone, at much the
 * same level, and not their own; terms are negotiated (a PCM-only member nacks, the owner
 * re-offers); the owner's leaving names the next; a member whose connection dies stops being
 * heard; and what the forwarder copies carries none of the audio. Where rooms of several are
 * judged by ear, each member runs in a process of its own (room-children.ts: built code from
 * dist/, so build first); the identity and datagram tests keep theirs in this process.
 */
import dgram from 'node:dgram';
import { startServer, type RunningServer } from '../../src/server';
import { getCodec } from '../../src/audio';
import { Identity } from '../../src/media/crypto/identity';
import { MemoryKnownPeers } from '../../src/client/known-peers';
import { waitUntil } from '../helpers/wait';
import { run } from '../cli/helpers/parley';
import { lastSecond, levelDb, once, played, RoomTestbed } from './room-helpers';
import { TappedTone } from './media-helpers';
import { ChildRoomTestbed, expectEveryoneHeardByChildren, levelsOfChildren, playedByChildren } from './room-children';

jest.setTimeout(90_000);

let server: RunningServer;
const bed = new RoomTestbed(() => server);
const member = bed.member.bind(bed);
/**
 * Members each in a process of their own, for the tests that judge what rooms of several hear:
 * four to eight members on this one loop fall behind on a busy machine (see room-children.ts).
 */
const children = new ChildRoomTestbed(() => server.port);

beforeAll(async () => {
  server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error', resumeGraceMs: 0 });
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  await Promise.all([bed.close(), children.close()]);
});

test('five members, five tones, through the forwarder (past MESH_MAX): each hears the four others at much the same level, and not itself', async () => {
  const before = server.rooms.forwarder!.forwarded.packets;
  const members = await children.room('five', [440, 620, 930, 1310, 1700]);
  const started = await Promise.all(members.map((m) => m.started));
  expect(started[0].isOwner).toBe(true);
  expect(started.map((s) => s.terms.codec)).toEqual(['opus', 'opus', 'opus', 'opus', 'opus']);
  expect(started.map((s) => s.terms.topology)).toEqual(['forward', 'forward', 'forward', 'forward', 'forward']);
  await playedByChildren(members, 2);
  await expectEveryoneHeardByChildren(members);
  expect(server.rooms.forwarder!.forwarded.packets - before).toBeGreaterThan(5 * 4 * 50);
});

test('eight members through the forwarder: each hears the seven others', async () => {
  const members = await children.room('eight', [350, 500, 650, 800, 1000, 1200, 1450, 1700]);
  await playedByChildren(members, 2);
  const judged = await expectEveryoneHeardByChildren(members);
  // Each member's upload is one stream, whatever the room's size.
  for (const { sent, frames } of judged) {
    expect(sent).toBeGreaterThan(50);
    // Nothing went to a member of its own: about one packet a frame played, not seven.
    expect(sent).toBeLessThan(1.5 * frames + 100);
  }
});

test('negotiation: a PCM-only member nacks with a counter-proposal, the owner re-offers PCM, all ack, and a latecomer is brought in', async () => {
  const id = 'terms';
  const owner = await children.member('owner', 440, id);
  const pcmOnly = await children.member('pcm-only', 620, id, ['pcm']);
  const third = await children.member('third', 930, id);
  await waitUntil(async () => (await owner.members()) === 3, 'three in the room', 15_000, 100);
  const nacked = owner.next('nacked');
  const offers: number[] = [];
  third.on('offer', ({ round }) => offers.push(round));
  const started = [owner, pcmOnly, third].map((m) => m.next('started'));
  await owner.start();
  const nack = await nacked;
  expect(nack.by).toBe('pcm-only');
  expect(nack.counter?.codecs.map((c: { name: string }) => c.name)).toEqual(['pcm']);
  const agreed = await Promise.all(started);
  for (const a of agreed) expect(a.terms.codec.name).toBe('pcm');
  // The opus offer and the pcm re-offer, two rounds.
  expect(offers.length).toBe(2);
  expect(offers[1]).toBeGreaterThan(offers[0]);

  const late = await children.member('late', 1310, id);
  expect((await late.next('started')).terms.codec.name).toBe('pcm');
  const all = [owner, pcmOnly, third, late];
  await playedByChildren(all, 2);
  await expectEveryoneHeardByChildren(all);
});

test('succession: the owner leaves, the longest-present member owns the room and starts a new round; a member whose connection dies is no longer heard', async () => {
  const id = 'succession';
  const members = await children.room(id, [440, 620, 930, 1310]);
  const [first, second, third, fourth] = members;
  const told = [second, third, fourth].map((m) => m.next('member_left'));
  const owners = [second, third, fourth].map((m) => m.next('owner'));
  await first.leave();
  for (const left of await Promise.all(told)) expect(left).toMatchObject({ name: first.name, owner: second.name, disconnected: false });
  for (const o of await Promise.all(owners)) expect(o.name).toBe(second.name);
  expect((await second.state()).isOwner).toBe(true);
  // The new owner can start a round; with the same terms, media goes on as it was.
  const accepted = [third, fourth].map((m) => m.next('acked'));
  const mediaBefore = (await third.state()).media;
  expect(mediaBefore).not.toBeNull();
  await second.start();
  await Promise.all(accepted);
  expect((await third.state()).media).toBe(mediaBefore);
  const rest = [second, third, fourth];
  await playedByChildren(rest, 1.5);
  await expectEveryoneHeardByChildren(rest);

  // A fifth member in its own process, killed: the others are told, and its tone fades from the mix.
  const dying = run(['room', 'join', id, '--name', 'dying', '--server', `127.0.0.1:${server.port}`, '--input', 'tone:1700', '--output', 'null', '--relay', 'off', '--stun', 'off', '--json']);
  await dying.waitOut(/"event":"started"/);
  await waitUntil(async () => (await levelsOfChildren(rest, [1700])).every(([db]) => db > -40), 'the fifth member heard by all', 30_000, 200);
  const gone = rest.map((m) => m.next('member_left'));
  dying.child.kill('SIGKILL');
  for (const g of await Promise.all(gone)) expect(g).toMatchObject({ name: 'dying', disconnected: true });
  await playedByChildren(rest, 1.5);
  for (const [db] of await levelsOfChildren(rest, [1700])) expect(db).toBeLessThan(-60);
  await expectEveryoneHeardByChildren(rest);
});

test('what members send (direct in a mesh, or to the forwarder) carries no audio: the L16 samples sent are nowhere in the datagrams', async () => {
  const sent: Buffer[] = [];
  const original = dgram.Socket.prototype.send;
  const spy = jest.spyOn(dgram.Socket.prototype, 'send').mockImplementation(function (this: dgram.Socket, ...args: unknown[]) {
    const [msg] = args as [Buffer];
    // Every datagram: member to member, member to forwarder, forwarder to member.
    if (Buffer.isBuffer(msg)) sent.push(Buffer.from(msg));
    return (original as (...a: unknown[]) => void).apply(this, args);
  });
  try {
    const tapped = new TappedTone(700, 0.25);
    const id = 'sealed';
    const alice = await member('alice-sealed', 700, id, { codecs: ['pcm'], input: tapped });
    const bob = await member('bob-sealed', 1100, id, { codecs: ['pcm'] });
    await waitUntil(() => alice.room.members.length === 2, 'both in the room');
    const started = [alice, bob].map((m) => once(m.room, 'started'));
    await alice.room.start();
    await Promise.all(started);
    expect(alice.room.terms?.codec.name).toBe('pcm');
    await played([alice, bob], 2);
    // Bob heard alice's tone: the audio was there to find.
    expect(levelDb(lastSecond(bob), 700)).toBeGreaterThan(-30);
    expect(sent.length).toBeGreaterThan(100);
    const encoder = getCodec('pcm').createEncoder({ frameMs: 20 });
    const wire = Buffer.concat(sent);
    let pieces = 0;
    for (const frame of tapped.made.slice(5, 105)) {
      const payload = encoder.encode(frame);
      for (let at = 0; at + 16 <= payload.length; at += 160) {
        pieces++;
        expect(wire.indexOf(payload.subarray(at, at + 16))).toBe(-1);
      }
    }
    expect(pieces).toBeGreaterThan(100);
  } finally {
    spy.mockRestore();
  }
});


test("a member whose identity key is not the one remembered for its name is neither heard nor given our key; the others go on", async () => {
  const id = 'trust';
  // Ann has talked to "bob" before, under another key.
  const remembered = new MemoryKnownPeers();
  remembered.remember('bob-trust', Identity.generate().publicKey);
  const ann = await member('ann-trust', 440, id, { phone: { identity: Identity.generate(), knownPeers: remembered } });
  const cat = await member('cat-trust', 930, id);
  const untrusted = new Promise<{ name: string; why: string }>((resolve) => ann.room.once('untrusted', resolve));
  const bob = await member('bob-trust', 620, id);
  expect(await untrusted).toMatchObject({ name: 'bob-trust', why: expect.stringMatching(/not the one remembered/) });
  await waitUntil(() => ann.room.members.length === 3, 'three in the room');
  const started = [ann, bob, cat].map((m) => once(m.room, 'started'));
  await ann.room.start();
  await Promise.all(started);
  await played([ann, bob, cat], 2);
  // Ann hears cat, not bob; bob hears cat, not ann (it never got her key); cat hears both.
  expect(levelDb(lastSecond(ann), 930)).toBeGreaterThan(-30);
  expect(levelDb(lastSecond(ann), 620)).toBeLessThan(-60);
  expect(levelDb(lastSecond(bob), 930)).toBeGreaterThan(-30);
  expect(levelDb(lastSecond(bob), 440)).toBeLessThan(-60);
  expect(levelDb(lastSecond(cat), 440)).toBeGreaterThan(-30);
  expect(levelDb(lastSecond(cat), 620)).toBeGreaterThan(-30);
  // The remembered key stays what it was.
  expect(remembered.check('bob-trust', bob.phone.identity.publicKey).status).toBe('changed');
});
