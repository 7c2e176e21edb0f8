/**
 * Rooms end to end, on one machine: a real parley-server (signaling and its forwarder), real
 * phones with tone sources and recording sinks. Everyone hears everyone else's tone, at much the
 * same level, and not their own; terms are negotiated (a PCM-only member nacks, the owner
 * re-offers); the owner's leaving names the next; a member whose connection dies stops being
 * heard; and what the forwarder copies carries none of the audio.
 */
import dgram from 'node:dgram';
import { startServer, type RunningServer } from '../../src/server';
import { Phone, type RoomSession } from '../../src/client/phone';
import type { RoomEvents } from '../../src/client/room/room-session';
import type { CodecName, Frame } from '../../src/audio/types';
import { getCodec, ToneSource } from '../../src/audio';
import { goertzel } from '../helpers/audio';
import { waitFor, waitUntil } from '../helpers/wait';
import { RecordingSink } from './media-helpers';
import { run } from '../cli/helpers/parley';

jest.setTimeout(90_000);

let server: RunningServer;
const phones: Phone[] = [];

beforeAll(async () => {
  server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error', resumeGraceMs: 0 });
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  await Promise.all(phones.splice(0).map((p) => p.close()));
});

interface Member {
  name: string;
  tone: number;
  phone: Phone;
  room: RoomSession;
  heard: RecordingSink;
}

async function phone(name: string, codecs: CodecName[] = ['opus', 'pcm']): Promise<Phone> {
  const p = await Phone.connect({ server: { host: '127.0.0.1', port: server.port }, udpHost: '127.0.0.1', codecs, stun: false, relay: 'off' });
  phones.push(p);
  await p.register(name);
  return p;
}

async function member(name: string, tone: number, roomId: string, opts: { codecs?: CodecName[]; input?: ToneSource } = {}): Promise<Member> {
  const p = await phone(name, opts.codecs);
  const heard = new RecordingSink();
  const room = await p.enterRoom('join', roomId, { input: opts.input ?? new ToneSource(tone, 0.25), output: heard });
  return { name, tone, phone: p, room, heard };
}

function once<K extends keyof RoomEvents>(room: RoomSession, event: K): Promise<RoomEvents[K][0]> {
  return new Promise((resolve) => (room as unknown as NodeJS.EventEmitter).once(event, resolve));
}

/** Level of `freq` in dB (relative to full scale, roughly) over the samples. */
function levelDb(x: Int16Array, freq: number): number {
  return 10 * Math.log10(goertzel(x, freq) / (32768 * 32768) + 1e-20);
}

/** The last second `m` played. */
function lastSecond(m: Member): Int16Array {
  const n = m.heard.frames.length;
  return m.heard.samples(Math.max(0, n - 50), n);
}

/** Everyone's recording holds every other tone, within 6 dB of each other, and its own 30 dB below the weakest. */
function expectEveryoneHeard(members: Member[]): void {
  const lines: string[] = [];
  for (const m of members) {
    const x = lastSecond(m);
    const others = members.filter((o) => o !== m).map((o) => levelDb(x, o.tone));
    const own = levelDb(x, m.tone);
    const spread = Math.max(...others) - Math.min(...others);
    const margin = Math.min(...others) - own;
    if (spread > 6 || margin < 30) {
      throw new Error(`${m.name}: others ${others.map((d) => d.toFixed(1)).join(', ')} dB (spread ${spread.toFixed(1)}), own ${own.toFixed(1)} dB (margin ${margin.toFixed(1)})`);
    }
    // Heard at all: well above the noise of an empty mix.
    expect(Math.min(...others)).toBeGreaterThan(-40);
    lines.push(`${m.name}: others ${Math.min(...others).toFixed(1)}…${Math.max(...others).toFixed(1)} dB, own ${own.toFixed(1)} dB`);
  }
  console.log(`${members.length} members:\n  ${lines.join('\n  ')}`);
}

/** Waits until every member has played `seconds` of audio since media started for it. */
async function played(members: Member[], seconds: number): Promise<void> {
  const marks = members.map((m) => m.heard.frames.length);
  await waitUntil(() => members.every((m, i) => m.heard.frames.length - marks[i] >= seconds * 50), `every member to play ${seconds} s`, 30_000);
}

/** Members join one room; the first is its owner and starts once all are in; resolves when media runs everywhere. */
async function room(id: string, tones: number[], opts: { codecs?: CodecName[][] } = {}): Promise<Member[]> {
  const members: Member[] = [];
  for (const [i, tone] of tones.entries()) members.push(await member(`m${i}-${id}`, tone, id, { codecs: opts.codecs?.[i] }));
  await waitUntil(() => members[0].room.members.length === tones.length, 'everyone in the room');
  const started = members.map((m) => once(m.room, 'started'));
  await members[0].room.start();
  await Promise.all(started);
  return members;
}

test('four members, four tones: each hears the three others at much the same level, and not itself', async () => {
  const members = await room('four', [440, 620, 930, 1310]);
  expect(members[0].room.isOwner).toBe(true);
  expect(members.map((m) => m.room.terms?.codec.name)).toEqual(['opus', 'opus', 'opus', 'opus']);
  await played(members, 2);
  expectEveryoneHeard(members);
  expect(server.rooms.forwarder!.forwarded.packets).toBeGreaterThan(4 * 3 * 50);
});

test('eight members through the forwarder: each hears the seven others', async () => {
  const members = await room('eight', [350, 500, 650, 800, 1000, 1200, 1450, 1700]);
  await played(members, 2);
  expectEveryoneHeard(members);
  // Each member's upload is one stream, whatever the room's size.
  for (const m of members) {
    const { sent } = m.room.media!.stats();
    expect(sent.packets).toBeGreaterThan(50);
    // Nothing went to a member of its own: about one packet a frame played, not seven.
    expect(sent.packets).toBeLessThan(1.5 * m.heard.frames.length + 100);
  }
});

test('negotiation: a PCM-only member nacks with a counter-proposal, the owner re-offers PCM, all ack, and a latecomer is brought in', async () => {
  const id = 'terms';
  const owner = await member('owner', 440, id);
  const pcmOnly = await member('pcm-only', 620, id, { codecs: ['pcm'] });
  const third = await member('third', 930, id);
  await waitUntil(() => owner.room.members.length === 3, 'three in the room');
  const nacked = once(owner.room, 'nacked');
  const offers: number[] = [];
  third.room.on('offer', ({ round }) => offers.push(round));
  const started = [owner, pcmOnly, third].map((m) => once(m.room, 'started'));
  await owner.room.start();
  const nack = await nacked;
  expect(nack.by).toBe('pcm-only');
  expect(nack.counter?.codecs.map((c) => c.name)).toEqual(['pcm']);
  const agreed = await Promise.all(started);
  for (const a of agreed) expect(a.terms.codec.name).toBe('pcm');
  // The opus offer and the pcm re-offer, two rounds.
  expect(offers.length).toBe(2);
  expect(offers[1]).toBeGreaterThan(offers[0]);

  const late = await member('late', 1310, id);
  await waitFor(late.room, 'started');
  expect(late.room.terms?.codec.name).toBe('pcm');
  const all = [owner, pcmOnly, third, late];
  await played(all, 2);
  expectEveryoneHeard(all);
});

test('succession: the owner leaves, the longest-present member owns the room and starts a new round; a member whose connection dies is no longer heard', async () => {
  const id = 'succession';
  const members = await room(id, [440, 620, 930, 1310]);
  const [first, second, third] = members;
  const told = [second, third, members[3]].map((m) => once(m.room, 'member_left'));
  const owners = [second, third, members[3]].map((m) => once(m.room, 'owner'));
  await first.room.leave();
  for (const left of await Promise.all(told)) expect(left).toMatchObject({ name: first.name, owner: second.name, disconnected: false });
  for (const o of await Promise.all(owners)) expect(o.name).toBe(second.name);
  expect(second.room.isOwner).toBe(true);
  // The new owner can start a round; with the same terms, media goes on as it was.
  const accepted = [third, members[3]].map((m) => once(m.room, 'acked'));
  const mediaBefore = third.room.media;
  await second.room.start();
  await Promise.all(accepted);
  expect(third.room.media).toBe(mediaBefore);
  const rest = [second, third, members[3]];
  await played(rest, 1.5);
  expectEveryoneHeard(rest);

  // A fifth member in its own process, killed: the others are told, and its tone fades from the mix.
  const dying = run(['room', 'join', id, '--name', 'dying', '--server', `127.0.0.1:${server.port}`, '--input', 'tone:1700', '--output', 'null', '--relay', 'off', '--stun', 'off', '--json']);
  await dying.waitOut(/"event":"started"/);
  await waitUntil(() => rest.every((m) => levelDb(lastSecond(m), 1700) > -40), 'the fifth member heard by all');
  const gone = rest.map((m) => once(m.room, 'member_left'));
  dying.child.kill('SIGKILL');
  for (const g of await Promise.all(gone)) expect(g).toMatchObject({ name: 'dying', disconnected: true });
  await played(rest, 1.5);
  for (const m of rest) expect(levelDb(lastSecond(m), 1700)).toBeLessThan(-60);
  expectEveryoneHeard(rest);
});

test('what the forwarder copies carries no audio: the L16 samples sent are nowhere in the datagrams', async () => {
  const sent: Buffer[] = [];
  const udpPort = server.udpPort;
  const original = dgram.Socket.prototype.send;
  const spy = jest.spyOn(dgram.Socket.prototype, 'send').mockImplementation(function (this: dgram.Socket, ...args: unknown[]) {
    const [msg, port] = args as [Buffer, number];
    // Member → forwarder, and forwarder → member: all the forwarder handles.
    if (Buffer.isBuffer(msg) && (port === udpPort || this.address().port === udpPort)) sent.push(Buffer.from(msg));
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

/** A tone that keeps what it produced: the frames handed to the room. */
class TappedTone extends ToneSource {
  readonly made: Frame[] = [];
  protected override nextFrame(samples: number): Frame {
    const f = super.nextFrame(samples);
    this.made.push(f);
    return f;
  }
}
