/**
 * A room's media end to end: four members, each sending its own tone through the forwarder,
 * each hearing the other three mixed and not itself; removal, local mute, rekeying, and packets
 * that must not be played (from outside the forwarder, or sealed by one member as another).
 */
import { ToneSource } from '../../../src/audio/sources/tone-source';
import { SrtpSealer } from '../../../src/media/crypto/srtp-gcm';
import { MediaError } from '../../../src/media/errors';
import { RoomMedia } from '../../../src/media/room/room-media';
import { newSenderKey } from '../../../src/media/crypto/sender-keys';
import { RtpSender } from '../../../src/media/rtp-sender';
import { UdpLink } from '../../../src/media/udp-link';
import { ManualTimers } from '../../helpers/audio';
import { FakeForwarder } from '../../helpers/fake-forwarder';
import { waitFor } from '../../helpers/wait';
import { MemorySink, OPUS_20, Room, toneDb, type Member } from './room-harness';

const TONES = { ann: 440, bob: 700, cat: 1100, dan: 1700 };
/** Frames to let a change settle (the jitter buffer, the limiter) before measuring: 200 ms. */
const SETTLE = 10;
/** Frames measured: one second. */
const WINDOW = 50;

let room: Room;
afterEach(async () => {
  await room?.close();
});

/** The last WINDOW frames `m` played. */
function lastSecond(m: Member): Int16Array {
  return m.sink.since(m.sink.frames.length - WINDOW);
}

/** Each member's tone level in what `m` played, dB. */
function heard(m: Member, audio = lastSecond(m)): Record<string, number> {
  return Object.fromEntries(room.members.map((o) => [o.name, toneDb(audio, o.freq)]));
}

/** `m` hears exactly the members `present` (within 6 dB of one another) and the rest at least 30 dB below the weakest. */
function expectHears(m: Member, present: string[]): void {
  const levels = heard(m);
  const loud = present.map((n) => levels[n]);
  expect(Math.max(...loud) - Math.min(...loud)).toBeLessThan(6);
  for (const o of room.members) if (!present.includes(o.name)) expect(levels[o.name]).toBeLessThan(Math.min(...loud) - 30);
}

const others = (m: Member) => room.members.filter((o) => o !== m).map((o) => o.name);

test('four members each hear the other three, about equally loud, and not themselves', async () => {
  room = await Room.open(TONES);
  const audio = room.members.map((m) => waitFor(m.room, 'audio'));
  const talking: [string, boolean][] = [];
  room.get('ann').room.on('talking', (name, on) => talking.push([name, on]));
  await room.step(SETTLE + WINDOW);
  await Promise.all(audio);
  for (const m of room.members) {
    expectHears(m, others(m));
    // One frame per tick, nothing else: the sink is paced by the mix clock alone.
    expect(m.sink.frames.every((f) => f.length === 960)).toBe(true);
    const st = m.room.stats();
    expect(st.sent.packets).toBeGreaterThanOrEqual(SETTLE + WINDOW - 1);
    for (const n of others(m)) expect(st.members[n]).toMatchObject({ decryptFailed: 0, replayed: 0, lost: 0 });
    expect(m.room.members().map((v) => [v.name, v.muted, v.talking])).toEqual(others(m).map((n) => [n, false, true]));
    for (const v of m.room.members()) expect(v.level).toBeGreaterThan(-30);
    expect(m.room.levels().output).toBeGreaterThan(-20);
  }
  expect(talking.sort()).toEqual([['bob', true], ['cat', true], ['dan', true]]);
});

test('a member removed is no longer mixed, and its packets are dropped as unknown', async () => {
  room = await Room.open(TONES);
  await room.step(SETTLE + 20);
  const ann = room.get('ann');
  const talking: [string, boolean][] = [];
  ann.room.on('talking', (name, on) => talking.push([name, on]));
  ann.room.removeSender('dan');
  expect(talking).toEqual([['dan', false]]);
  const unknown = ann.room.stats().unknownSsrc;
  await room.step(SETTLE + WINDOW);
  expectHears(ann, ['bob', 'cat']);
  expect(ann.room.stats().unknownSsrc).toBeGreaterThanOrEqual(unknown + SETTLE + WINDOW - 1);
  expect(ann.room.members().map((v) => v.name)).toEqual(['bob', 'cat']);
  // The others still hear dan.
  expectHears(room.get('bob'), ['ann', 'cat', 'dan']);
});

test('a member muted locally is not mixed; unmuted, it is back', async () => {
  room = await Room.open(TONES);
  await room.step(SETTLE + 20);
  const ann = room.get('ann');
  expect(ann.room.muteMember('cat', true)).toBe(true);
  await room.step(SETTLE + WINDOW);
  expectHears(ann, ['bob', 'dan']);
  expect(ann.room.members().find((v) => v.name === 'cat')).toMatchObject({ muted: true });
  expect(ann.room.muteMember('cat', false)).toBe(true);
  await room.step(SETTLE + WINDOW);
  expectHears(ann, ['bob', 'cat', 'dan']);
});

test('a datagram from anywhere but the forwarder is dropped unread, even one sealed with a real key', async () => {
  room = await Room.open(TONES);
  await room.step(SETTLE);
  const ann = room.get('ann');
  const bob = room.get('bob');
  const before = ann.room.stats();
  // A packet sealed with bob's key, from another socket; time stands still, so nothing else comes.
  const rtp = new RtpSender({ payloadType: 111, timestampStep: 960, ssrc: bob.key.ssrc, red: false, redundancy: 0 });
  const stranger = await UdpLink.open({ host: '127.0.0.1' });
  stranger.send(new SrtpSealer(bob.key).seal(rtp.packetize(Buffer.from([0xf8, 0xff, 0xfe]))), { ip: '127.0.0.1', port: ann.link.port });
  await room.settle(1);
  stranger.close();
  const after = ann.room.stats();
  expect(after.foreign).toBe(before.foreign + 1);
  // Not even opened: bob's stream counts nothing, taken or refused.
  expect(after.members.bob).toEqual(before.members.bob);
  await room.step(SETTLE + WINDOW);
  expectHears(ann, others(ann));
});

test('a member sealing with its own key under another member’s SSRC is dropped and counted, through the forwarder', async () => {
  room = await Room.open(TONES);
  await room.step(SETTLE);
  const [ann, bob, cat, dan] = room.members;
  // dan speaks as bob: bob's SSRC, dan's own key, sent from dan's registered socket.
  const rtp = new RtpSender({ payloadType: 111, timestampStep: 960, ssrc: bob.key.ssrc, red: false, redundancy: 0 });
  for (let i = 0; i < 5; i++) dan.link.send(new SrtpSealer(dan.key).seal(rtp.packetize(Buffer.from([0xf8, 0xff, 0xfe]))), room.forwarder.address);
  await room.step(SETTLE + WINDOW);
  for (const m of [ann, cat]) {
    // Refused by bob's key (or, sequence numbers being random, as outside its replay window first).
    const st = m.room.stats().members.bob;
    expect(st.decryptFailed + st.replayed).toBe(5);
    expectHears(m, others(m));
  }
  // bob has no key for its own SSRC: to it they are unknown.
  expect(bob.room.stats().unknownSsrc).toBe(5);
});

test('a rekey mid-stream keeps the audio flowing', async () => {
  room = await Room.open(TONES);
  await room.step(SETTLE + 20);
  const bob = room.get('bob');
  const fresh = newSenderKey();
  // The others learn the new key first (as the sealed keys arrive), then bob switches to it.
  for (const m of room.members) if (m !== bob) expect(m.room.addSender('bob', fresh)).toBe(true);
  await room.step(5);
  const heardAgain = room.members.filter((m) => m !== bob).map((m) => waitFor<[string]>(m.room, 'audio'));
  const mark = room.members.map((m) => m.sink.frames.length);
  const talking: [string, boolean][] = [];
  room.get('ann').room.on('talking', (name, on) => talking.push([name, on]));
  bob.room.rekey(fresh);
  await room.step(SETTLE + WINDOW);
  expect((await Promise.all(heardAgain)).map(([n]) => n)).toEqual(['bob', 'bob', 'bob']);
  // bob talked on throughout: no event said otherwise.
  expect(talking).toEqual([]);
  room.members.forEach((m, i) => {
    if (m === bob) return;
    expectHears(m, others(m));
    // No gap: bob's tone is in every 100 ms of what was played across the switch.
    for (let f = mark[i]; f + 5 <= mark[i] + SETTLE + WINDOW; f += 5) {
      const slice = m.sink.since(f, f + 5);
      expect(toneDb(slice, bob.freq)).toBeGreaterThan(toneDb(m.sink.since(mark[i] - 10, mark[i] - 5), bob.freq) - 6);
    }
    const st = m.room.stats().members.bob;
    expect(st).toMatchObject({ decryptFailed: 0, replayed: 0 });
    expect(st.received).toBeGreaterThanOrEqual(SETTLE + WINDOW - 1);
  });
});

test('keys are refused for an SSRC another member has, for its own SSRC, and beyond maxSenders', async () => {
  room = await Room.open({ ann: 440, bob: 700 });
  const [ann, bob] = room.members;
  expect(ann.room.addSender('eve', { ...newSenderKey(), ssrc: bob.key.ssrc })).toBe(false);
  expect(ann.room.addSender('eve', { ...newSenderKey(), ssrc: ann.key.ssrc })).toBe(false);
  for (let i = 0; i < 31; i++) expect(ann.room.addSender(`m${i}`, newSenderKey())).toBe(true);
  expect(ann.room.addSender('one-too-many', newSenderKey())).toBe(false);
  // A known member may still rekey when the room is full.
  expect(ann.room.addSender('m0', newSenderKey())).toBe(true);
  expect(ann.room.members()).toHaveLength(32);
});

test("a member's muted microphone sends nothing (no comfort noise in these terms): once its stream pauses the others stop hearing it, and count no loss", async () => {
  room = await Room.open(TONES);
  await room.step(SETTLE + 20);
  const cat = room.get('cat');
  cat.room.mutedMic = true;
  const sent = cat.room.stats().sent.packets;
  // The others wait, conceal, and after a second without packets take the stream as paused.
  await room.step(60 + WINDOW);
  expect(cat.room.stats().sent.packets).toBe(sent);
  for (const m of room.members) if (m !== cat) expectHears(m, others(m).filter((n) => n !== 'cat'));
  for (const m of room.members) if (m !== cat) expect(m.room.stats().members.cat.lost).toBe(0);
  expect(cat.room.levels().input).toBeGreaterThan(-30);
  expect(cat.room.activity().sending).toBe(false);
});

test("with comfort noise in the terms, a muted member sends a \"silence\" CN and a keep-alive a second: its stream stays up as silence, not loss, and speaks again with its first frame", async () => {
  room = await Room.open(TONES, { ...OPUS_20, cn: true });
  await room.step(SETTLE + 20);
  const cat = room.get('cat');
  const ann = room.get('ann');
  expect(ann.room.activity().receiving.cat).toBe(true);
  cat.room.mutedMic = true;
  const sent = cat.room.stats().sent.packets;
  await room.step(SETTLE + 2 * WINDOW);
  const st = cat.room.stats();
  expect(st.sent.packets - sent).toBe(3);
  expect(st.cnPacketsSent).toBe(3);
  for (const m of room.members) if (m !== cat) expectHears(m, others(m).filter((n) => n !== 'cat'));
  const heardCat = ann.room.stats().members.cat;
  expect(heardCat).toMatchObject({ lost: 0, concealedMs: 0, cnPacketsReceived: 3 });
  expect(heardCat.comfortNoiseMs).toBeGreaterThan(0);
  expect(ann.room.activity().receiving.cat).toBe(false);
  cat.room.mutedMic = false;
  await room.step(SETTLE + WINDOW);
  for (const m of room.members) expectHears(m, others(m));
  expect(ann.room.activity().receiving.cat).toBe(true);
  expect(ann.room.stats().members.cat).toMatchObject({ lost: 0, concealedMs: 0 });
});

test('a member whose processing says silence, with DTX on, sends only comfort noise: the others play it as silence, not loss; every mix reaches the echo reference', async () => {
  const verdicts: Record<string, boolean> = {};
  const voices: Record<string, { played: number; closed: number }> = {};
  room = await Room.open(TONES, { ...OPUS_20, cn: true }, (name) => {
    verdicts[name] = true;
    const v = { played: 0, closed: 0 };
    voices[name] = v;
    return {
      dtx: true,
      voice: { capture: () => verdicts[name], playback: () => void v.played++, close: () => void v.closed++ },
    };
  });
  await room.step(SETTLE + 20);
  const cat = room.get('cat');
  const ann = room.get('ann');
  verdicts.cat = false;
  const sent = cat.room.stats().sent.packets;
  await room.step(SETTLE + WINDOW);
  const st = cat.room.stats();
  // One CN at once, then an update every 400 ms.
  expect(st.sent.packets - sent).toBe(3);
  expect(st.framesSuppressed).toBe(SETTLE + WINDOW);
  expect(cat.room.activity().sending).toBe(false);
  expect(ann.room.activity()).toMatchObject({ sending: true, receiving: { bob: true, cat: false, dan: true } });
  for (const m of room.members) if (m !== cat) expectHears(m, others(m).filter((n) => n !== 'cat'));
  expect(ann.room.stats().members.cat).toMatchObject({ lost: 0, concealedMs: 0 });
  expect(voices.ann.played).toBe(ann.sink.frames.length);
  await room.close();
  expect(Object.values(voices).every((v) => v.closed === 1)).toBe(true);
});

test('a forwarder that never answers fails the room with no_path, and stop() closes the socket', async () => {
  const forwarder = await FakeForwarder.start();
  forwarder.answering = false;
  const timers = new ManualTimers();
  const link = await UdpLink.open({ host: '127.0.0.1' });
  const media = new RoomMedia({
    link,
    server: { address: '127.0.0.1', port: forwarder.address.port },
    forward: forwarder.allow('ann'),
    codec: OPUS_20,
    send: newSenderKey(),
    source: new ToneSource(440, 0.2, { timers }),
    sink: new MemorySink(),
    timers,
  });
  const failed = waitFor<[MediaError]>(media, 'failed');
  await media.start();
  timers.advance(10_000);
  const [err] = await failed;
  expect(err).toBeInstanceOf(MediaError);
  expect(err).toMatchObject({ code: 'no_path', message: "the room's forwarder did not answer within 10 s" });
  await media.stop();
  (await UdpLink.open({ host: '127.0.0.1', port: link.port })).close();
  await forwarder.close();
});

test("each member's stream has its own delay: one arriving in bursts is played whole without delaying the others", async () => {
  room = await Room.open(TONES);
  const ann = room.get('ann');
  // bob's packets reach the others two at a time, every other frame: 20 ms of jitter.
  room.forwarder.holding.add('bob');
  const release = (i: number) => i % 2 === 1 && room.forwarder.release();
  await room.step(SETTLE + 40, release);
  const before = ann.room.stats().members;
  await room.step(SETTLE + WINDOW, release);
  expectHears(ann, ['bob', 'cat', 'dan']);
  const st = ann.room.stats().members;
  // Nothing of bob's was given up once its buffer had learnt the jitter.
  expect(st.bob.concealedMs).toBe(before.bob.concealedMs);
  expect(st.bob.late).toBe(before.bob.late);
  expect(st.bob.targetDelayMs).toBeGreaterThanOrEqual(20);
  // cat and dan keep their short delay.
  expect(st.cat.targetDelayMs).toBeLessThan(10);
  expect(st.dan.targetDelayMs).toBeLessThan(10);
});

test('a member that goes quiet fades out of the mix, and is played again when it comes back', async () => {
  room = await Room.open(TONES);
  const ann = room.get('ann');
  await room.step(SETTLE + 20);
  // bob's path goes dead for two seconds.
  room.forwarder.holding.add('bob');
  await room.step(100, () => room.forwarder.discard());
  expectHears(ann, ['cat', 'dan']);
  expect(ann.room.members().find((v) => v.name === 'bob')).toMatchObject({ talking: false });
  const concealed = ann.room.stats().members.bob.concealedMs;
  room.forwarder.holding.delete('bob');
  await room.step(SETTLE + WINDOW);
  expectHears(ann, ['bob', 'cat', 'dan']);
  // Once paused, the stream is idle, not concealed: the loss did not run on for the two seconds.
  expect(concealed).toBeLessThan(1000);
});

test('start() rejects with the device error, leaving the socket closed', async () => {
  const forwarder = await FakeForwarder.start();
  const link = await UdpLink.open({ host: '127.0.0.1' });
  const sink = new MemorySink();
  sink.open = () => Promise.reject(new Error('no speaker'));
  const media = new RoomMedia({
    link,
    server: { address: '127.0.0.1', port: forwarder.address.port },
    forward: forwarder.allow('ann'),
    codec: OPUS_20,
    send: newSenderKey(),
    source: new ToneSource(440, 0.2, { timers: new ManualTimers() }),
    sink,
  });
  const err = await media.start().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(MediaError);
  expect(err).toMatchObject({ code: 'output_device', message: 'no speaker' });
  (await UdpLink.open({ host: '127.0.0.1', port: link.port })).close();
  await expect(media.start()).rejects.toThrow(/already started/);
  await forwarder.close();
});
