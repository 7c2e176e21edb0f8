/**
 * Client CPU in a room: one real RoomMedia (in a child process, measured with
 * process.cpuUsage) receiving N−1 members' Opus 20 ms streams (RED, sealed each with its own
 * sender key) over loopback UDP from the forwarder's address, and sending its own, for rooms of
 * 2, 4, 8 and 16. The other members are played by this process: pre-encoded tones, packetized
 * and sealed per member, sent from the test-double forwarder's socket on one 20 ms clock.
 * Figures are CPU ms per second of audio (= % of one core ×10), the median of one-second
 * samples. Writes bench/results/room-client.json.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FrameClock, getCodec } from '../src/audio';
import { SrtpSealer } from '../src/media/crypto/srtp-gcm';
import { newSenderKey, type SenderKey } from '../src/media/crypto/sender-keys';
import { RED_PAYLOAD_TYPE } from '../src/media/negotiation';
import { RtpSender } from '../src/media/rtp-sender';
import { FakeForwarder } from '../test/helpers/fake-forwarder';
import type { ChildRequest, WireKey } from './room-client-child';

const SIZES = [2, 4, 8, 16];
const WARMUP_MS = 1500;
const SECONDS = 8;
const FRAME_MS = 20;
const LOOP_FRAMES = 50;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const toWire = (name: string, k: SenderKey): WireKey => ({ name, key: k.key.toString('base64'), salt: k.salt.toString('base64'), ssrc: k.ssrc });

function next(child: ChildProcess, type: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const on = (m: { type: string }) => {
      if (m.type !== type) return;
      child.off('message', on);
      resolve(m as unknown as Record<string, unknown>);
    };
    child.on('message', on);
  });
}

/** A second of a tone, Opus-encoded once: the members' audio, replayed in a loop. */
function encodedTone(freq: number): Buffer[] {
  const enc = getCodec('opus').createEncoder({ frameMs: FRAME_MS });
  const frames: Buffer[] = [];
  for (let k = 0; k < LOOP_FRAMES; k++) {
    const f = new Int16Array(960);
    for (let i = 0; i < 960; i++) f[i] = Math.round(0.2 * 32767 * Math.sin((2 * Math.PI * freq * (k * 960 + i)) / 48000));
    frames.push(enc.encode(f));
  }
  enc.close();
  return frames;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function measure(size: number) {
  const forwarder = await FakeForwarder.start();
  const child = fork(path.join(__dirname, 'room-client-child.js'));
  const senders = Array.from({ length: size - 1 }, (_, i) => {
    const key = newSenderKey();
    return {
      name: `m${i}`,
      key,
      frames: encodedTone(300 + 97 * i),
      rtp: new RtpSender({ payloadType: 111, timestampStep: 960, ssrc: key.ssrc, red: { payloadType: RED_PAYLOAD_TYPE }, redundancy: 2 }),
      sealer: new SrtpSealer(key),
    };
  });
  const join: ChildRequest = {
    type: 'join',
    server: { address: forwarder.address.ip, port: forwarder.address.port },
    forward: forwarder.allow('me'),
    own: toWire('me', newSenderKey()),
    others: senders.map((s) => toWire(s.name, s.key)),
  };
  const ready = next(child, 'ready');
  child.send(join);
  const { port } = (await ready) as { port: number };
  let k = 0;
  const clock = new FrameClock(FRAME_MS, () => {
    for (const s of senders) forwarder.send(s.sealer.seal(s.rtp.packetize(s.frames[k % LOOP_FRAMES])), { ip: '127.0.0.1', port });
    k++;
  });
  clock.start();
  await sleep(WARMUP_MS);
  const done = next(child, 'cpu');
  child.send({ type: 'measure', seconds: SECONDS } satisfies ChildRequest);
  const r = (await done) as { msPerSecond: number[]; received: number; concealedMs: number; decryptFailed: number; ticks: number; sent: number };
  clock.stop();
  child.send({ type: 'exit' } satisfies ChildRequest);
  await new Promise((res) => child.once('exit', res));
  await forwarder.close();
  return {
    members: size,
    streamsReceived: size - 1,
    cpuMsPerAudioSecondMedian: round(median(r.msPerSecond)),
    cpuMsPerAudioSecondMax: round(Math.max(...r.msPerSecond)),
    samples: r.msPerSecond.map((x) => round(x)),
    packetsReceived: r.received,
    concealedMs: r.concealedMs,
    decryptFailed: r.decryptFailed,
    mixTicks: r.ticks,
    packetsSent: r.sent,
  };
}

async function main(): Promise<void> {
  const results = [];
  for (const size of SIZES) results.push(await measure(size));
  console.log('members  streams in  CPU ms per s of audio (median, max)  % of one core  per stream in');
  const base = results[0];
  for (const r of results) {
    const perStream = r === base ? '' : `${round((r.cpuMsPerAudioSecondMedian - base.cpuMsPerAudioSecondMedian) / (r.streamsReceived - base.streamsReceived), 2)} ms`;
    console.log(
      `${String(r.members).padStart(7)}  ${String(r.streamsReceived).padStart(10)}  ${`${r.cpuMsPerAudioSecondMedian}, ${r.cpuMsPerAudioSecondMax}`.padStart(35)}  ${`${round(r.cpuMsPerAudioSecondMedian / 10, 2)} %`.padStart(13)}  ${perStream}`,
    );
  }
  const dir = path.join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'room-client.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, codec: 'opus 20 ms, RED 2', results }, null, 2) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
