import { startServer, type RunningServer } from '../../src/server';
import { Phone, type ActiveCall, type CallEnd, CallFailedError } from '../../src/client/phone';
import { describeCallEnd } from '../../src/client/call-reasons';
import { AudioError, ToneSource } from '../../src/audio';
import type { CodecName } from '../../src/audio/types';
import { dominantFrequency, rms } from '../helpers/audio';
import { waitUntil } from '../helpers/wait';
import { LoopStalls, RecordingSink } from './media-helpers';

let server: RunningServer;
const phones: Phone[] = [];

beforeAll(async () => {
  server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error' });
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  await Promise.all(phones.splice(0).map((p) => p.close()));
});

async function phone(name: string, opts: { codecs?: CodecName[]; frameMs?: 10 | 20 | 40 } = {}): Promise<Phone> {
  const p = await Phone.connect({ server: { host: '127.0.0.1', port: server.port }, udpHost: '127.0.0.1', ...opts });
  phones.push(p);
  await p.register(name);
  return p;
}

/** Half a second of start-up, then what is checked. */
const SKIP_MS = 500;
const HEARD_MS = 2500;

/**
 * Alice calls Bob; each sends its own tone until both have played `SKIP_MS + HEARD_MS` of the
 * other; returns both recordings and calls.
 */
async function talk(codecs: CodecName[], frameMs: 10 | 20 | 40 = 20) {
  const alice = await phone('alice', { codecs, frameMs });
  const bob = await phone('bob', { codecs, frameMs });
  const heardByAlice = new RecordingSink();
  const heardByBob = new RecordingSink();
  const bobCall = new Promise<ActiveCall>((r) => bob.once('incoming', (c) => void c.accept({ input: new ToneSource(1100), output: heardByBob }).then(r)));
  const out = alice.call('bob', { input: new ToneSource(700), output: heardByAlice });
  const aliceCall = await out.result;
  const stalls = new LoopStalls();
  const frames = (SKIP_MS + HEARD_MS) / frameMs;
  await waitUntil(() => heardByAlice.frames.length >= frames && heardByBob.frames.length >= frames, 'both sides to have played 3 s');
  stalls.stop();
  const stats = { alice: aliceCall.stats(), bob: (await bobCall).stats(), levels: aliceCall.levels() };
  const ended = new Promise<unknown>((r) => aliceCall.once('ended', r));
  await aliceCall.hangup();
  await ended;
  return { aliceCall, heardByAlice, heardByBob, stats, stalls };
}

function checkHeard(sink: RecordingSink, freq: number, frameMs: number): void {
  expect(sink.closed).toBe(true);
  // Skip the start-up, check the rest carries the other side's tone.
  const x = sink.samples(Math.round(SKIP_MS / frameMs));
  expect(x.length).toBeGreaterThanOrEqual((48000 * HEARD_MS) / 1000);
  expect(Math.abs(dominantFrequency(x, 48000, 100, 4000, 5) - freq)).toBeLessThanOrEqual(10);
  expect(rms(x)).toBeGreaterThan(3000);
}

describe.each<[CodecName, 10 | 20 | 40]>([
  ['opus', 20],
  ['pcm', 20],
  ['opus', 10],
])('a call with %s at %i ms frames', (codec, frameMs) => {
  test('carries each side to the other, losing and concealing nothing on a calm link', async () => {
    const { aliceCall, heardByAlice, heardByBob, stats, stalls } = await talk([codec], frameMs);
    expect(aliceCall.codec.name).toBe(codec);
    expect(aliceCall.frameMs).toBe(frameMs);
    checkHeard(heardByAlice, 1100, frameMs);
    checkHeard(heardByBob, 700, frameMs);
    for (const s of [stats.alice, stats.bob]) {
      expect(s.packetsSent).toBeGreaterThanOrEqual(HEARD_MS / frameMs);
      // Loopback neither loses nor reorders: every packet came, in order.
      expect(s.packetsLost).toBe(0);
      expect(s.framesRejected).toBe(0);
      // A packet can only come late when this machine held the receiver up, and a frame is
      // only ever concealed when its packet came late: on a calm machine neither happens.
      expect(s.packetsLate).toBeLessThanOrEqual(stalls.frames(frameMs));
      expect(s.concealedMs).toBeLessThanOrEqual(s.packetsLate * frameMs);
    }
    expect(stats.alice.rttMs).not.toBeNull();
    expect(stats.levels.input).toBeGreaterThan(-20);
    expect(stats.levels.output).toBeGreaterThan(-30);
  });
});

test('no common codec: both sides are told incompatible', async () => {
  const alice = await phone('alice', { codecs: ['pcm'] });
  const bob = await phone('bob', { codecs: ['opus'] });
  const bobTold = new Promise<{ reason: string }>((r) => bob.once('call-failed', r));
  const out = alice.call('bob');
  await expect(out.result).rejects.toMatchObject({ reason: 'incompatible' });
  await expect(out.result).rejects.toBeInstanceOf(CallFailedError);
  expect((await bobTold).reason).toBe('incompatible');
});

test('the peer hanging up ends the call on both sides', async () => {
  const alice = await phone('alice');
  const bob = await phone('bob');
  const bobCall = new Promise<ActiveCall>((r) => bob.once('incoming', (c) => void c.accept().then(r)));
  const aliceCall = await alice.call('bob').result;
  const b = await bobCall;
  const aliceEnded = new Promise<{ reason: string; by?: string }>((r) => aliceCall.once('ended', r));
  await b.hangup();
  expect(await aliceEnded).toMatchObject({ reason: 'hangup', by: 'bob' });
});

test('declined and unknown callee fail with their reasons', async () => {
  const alice = await phone('alice');
  const bob = await phone('bob');
  bob.once('incoming', (c) => void c.decline());
  await expect(alice.call('bob').result).rejects.toMatchObject({ reason: 'declined' });
  await expect(alice.call('nobody').result).rejects.toMatchObject({ reason: 'not_found' });
});

test("a device dying mid-call ends it as failed on both sides, each told whose device it was", async () => {
  const alice = await phone('alice');
  const bob = await phone('bob');
  const bobCall = new Promise<ActiveCall>((r) => bob.once('incoming', (c) => void c.accept().then(r)));
  const mic = new ToneSource(500);
  const aliceCall = await alice.call('bob', { input: mic }).result;
  const b = await bobCall;
  const aliceEnded = new Promise<CallEnd>((r) => aliceCall.once('ended', r));
  const bobEnded = new Promise<CallEnd>((r) => b.once('ended', r));
  mic.emit('error', new AudioError('input_device', 'the microphone (arecord) stopped: device unplugged', { detail: 'arecord: pcm_read:2103: read error: No such device' }));
  expect(await aliceEnded).toMatchObject({ reason: 'failed', cause: 'input_device', byMe: true, message: expect.stringContaining('device unplugged') });
  // The other side is told the cause, not "hung up".
  expect(await bobEnded).toMatchObject({ reason: 'failed', cause: 'input_device', byMe: false, by: 'alice' });
  expect(describeCallEnd('alice', await bobEnded, 3)).toBe("The call with alice ended after 0:03: alice's microphone (audio input) failed.");
  expect(alice.state).toMatchObject({ status: 'idle', ended: { end: { reason: 'failed' } } });
});
