/** `parley room create|join` as real processes: the events a script reads, the audio recorded, the exit codes. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunningServer } from '../../src';
import { decodeWav } from '../../src/audio/wav';
import { EXIT } from '../../src/client/exit-codes';
import { goertzel } from '../helpers/audio';
import { testServer } from '../helpers/signaling';
import { run } from './helpers/parley';

jest.setTimeout(60_000);

let server: RunningServer;
let dir: string;

beforeEach(async () => {
  server = await testServer({ limits: { maxRoomMembers: 3 }, resumeGraceMs: 0 });
  dir = mkdtempSync(path.join(tmpdir(), 'parley-room-'));
});

afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const at = () => ['--server', `127.0.0.1:${server.port}`, '--stun', 'off', '--relay', 'off'];

function events(out: string): { event: string; [k: string]: unknown }[] {
  return out
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

/** Level of `freq` in a WAV's last second, dB relative to full scale. */
function levelDb(file: string, freq: number): number {
  const { samples } = decodeWav(readFileSync(file));
  const last = samples.subarray(Math.max(0, samples.length - 48000));
  return 10 * Math.log10(goertzel(last, freq) / (32768 * 32768) + 1e-20);
}

test('three members: the owner starts at three, everyone records the two others; the owner leaves first and the next one owns the room', async () => {
  const wav = (n: string) => path.join(dir, `${n}.wav`);
  const ann = run(['room', 'create', 'standup', '--name', 'ann', '--start-at', '3', '--duration', '5', '--input', 'tone:440', '--output', wav('ann'), '--json', ...at()]);
  await ann.waitOut('"event":"joined"');
  const ben = run(['room', 'join', 'standup', '--name', 'ben', '--duration', '8', '--input', 'tone:660', '--output', wav('ben'), '--json', ...at()]);
  await ben.waitOut('"event":"joined"');
  const cat = run(['room', 'join', 'standup', '--name', 'cat', '--duration', '8', '--input', 'tone:990', '--output', wav('cat'), '--json', ...at()]);
  expect(await ann.exited).toBe(EXIT.ok);
  expect(await ben.exited).toBe(EXIT.ok);
  expect(await cat.exited).toBe(EXIT.ok);

  const annSaid = events(ann.out());
  expect(annSaid.map((e) => e.event)).toEqual(expect.arrayContaining(['registered', 'joined', 'member_joined', 'acked', 'started', 'ended']));
  expect(annSaid.find((e) => e.event === 'joined')).toMatchObject({ room: 'standup', created: true, owner: 'ann', members: ['ann'] });
  expect(annSaid.filter((e) => e.event === 'member_joined').map((e) => e.name)).toEqual(['ben', 'cat']);
  expect(annSaid.find((e) => e.event === 'started')).toMatchObject({ terms: { codec: { name: 'opus', frameMs: 20 } } });
  expect(annSaid.find((e) => e.event === 'ended')).toMatchObject({ room: 'standup', reason: 'left' });

  const benSaid = events(ben.out());
  expect(benSaid.find((e) => e.event === 'joined')).toMatchObject({ created: false, owner: 'ann', members: ['ann', 'ben'] });
  expect(benSaid.map((e) => e.event)).toEqual(expect.arrayContaining(['offer', 'started', 'member_left', 'owner']));
  expect(benSaid.find((e) => e.event === 'member_left')).toMatchObject({ name: 'ann', owner: 'ben' });
  expect(benSaid.find((e) => e.event === 'owner')).toMatchObject({ name: 'ben' });
  expect(events(cat.out()).find((e) => e.event === 'member_left')).toMatchObject({ name: 'ann', owner: 'ben' });

  // Ann's recording ends while all three were in: both others, at much the same level; not her own tone.
  const annHeard = [levelDb(wav('ann'), 660), levelDb(wav('ann'), 990)];
  expect(Math.min(...annHeard)).toBeGreaterThan(-30);
  expect(Math.abs(annHeard[0] - annHeard[1])).toBeLessThan(6);
  expect(levelDb(wav('ann'), 440)).toBeLessThan(Math.min(...annHeard) - 30);
  // Ben's last second came after ann left: cat, and no longer ann.
  expect(levelDb(wav('ben'), 990)).toBeGreaterThan(-30);
  expect(levelDb(wav('ben'), 440)).toBeLessThan(levelDb(wav('ben'), 990) - 30);
});

test('a member that only has PCM: the owner is told its counter-proposal and re-offers PCM, which everyone takes', async () => {
  const ann = run(['room', 'join', 'pcm-room', '--name', 'ann', '--start-at', '2', '--duration', '3', '--json', ...at()]);
  await ann.waitOut('"event":"joined"');
  const ben = run(['room', 'join', 'pcm-room', '--name', 'ben', '--codec', 'pcm', '--duration', '3', '--json', ...at()]);
  expect(await ann.exited).toBe(EXIT.ok);
  expect(await ben.exited).toBe(EXIT.ok);
  const annSaid = events(ann.out());
  expect(annSaid.find((e) => e.event === 'joined')).toMatchObject({ created: true });
  expect(annSaid.find((e) => e.event === 'nacked')).toMatchObject({ by: 'ben', counter: { codecs: [{ name: 'pcm' }] } });
  expect(annSaid.find((e) => e.event === 'started')).toMatchObject({ terms: { codec: { name: 'pcm' } } });
  const benSaid = events(ben.out());
  expect(benSaid.filter((e) => e.event === 'offer').map((e) => (e.terms as { codec: { name: string } }).codec.name)).toEqual(['opus', 'pcm']);
  expect(benSaid.find((e) => e.event === 'started')).toMatchObject({ terms: { codec: { name: 'pcm' } } });
});

test('refusals exit with their codes: a full room 7, an id taken 7, a bad id 2, a bad action 2', async () => {
  const members = ['a', 'b', 'c'].map((n) => run(['room', 'join', 'small', '--name', n, '--duration', '20', '--json', ...at()]));
  for (const m of members) await m.waitOut('"event":"joined"');
  const fourth = run(['room', 'join', 'small', '--name', 'd', '--json', ...at()]);
  expect(await fourth.exited).toBe(EXIT.busy);
  expect(events(fourth.out()).find((e) => e.event === 'refused')).toMatchObject({ code: 'room_full' });

  const taken = run(['room', 'create', 'small', '--name', 'e', '--json', ...at()]);
  expect(await taken.exited).toBe(EXIT.busy);
  expect(events(taken.out()).find((e) => e.event === 'refused')).toMatchObject({ code: 'room_exists' });

  const bad = run(['room', 'create', 'no spaces!', '--name', 'f', ...at()]);
  expect(await bad.exited).toBe(EXIT.usage);
  expect(bad.err()).toMatch(/room/);

  const verb = run(['room', 'enter', 'small', '--name', 'g', ...at()]);
  expect(await verb.exited).toBe(EXIT.usage);
  expect(verb.err()).toMatch(/create or join/);
  const noId = run(['room', 'join', '--name', 'g', ...at()]);
  expect(await noId.exited).toBe(EXIT.usage);

  for (const m of members) m.child.kill('SIGTERM');
  for (const m of members) expect(await m.exited).toBe(EXIT.ok);
});

test('create without an id: the server mints a readable one, said in the joined event', async () => {
  const ann = run(['room', 'create', '--name', 'ann', '--duration', '0.5', '--json', ...at()]);
  expect(await ann.exited).toBe(EXIT.ok);
  const joined = events(ann.out()).find((e) => e.event === 'joined')!;
  expect(joined.room).toMatch(/^[a-z]+-[a-z]+-[a-z]+$/);
  expect(joined).toMatchObject({ created: true, owner: 'ann' });
});
