/**
 * A media session's failures are coded: which device, no path, or the socket; and its devices
 * may be opened before the call (to fail before anyone is rung) or by start() itself.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AudioError,
  NullSink,
  SilenceSource,
  WavFileSink,
  WavFileSource,
  encodeWav,
  getCodec,
  signals,
  type AudioSink,
  type AudioSource,
  type Frame,
} from '../../src/audio';
import { MediaError } from '../../src/media/errors';
import { MediaSession } from '../../src/media/media-session';
import type { Agreement } from '../../src/media/negotiation';
import { UdpLink } from '../../src/media/udp-link';
import { ManualTimers } from '../helpers/audio';
import { iceFields } from '../helpers/ice-peer';
import { waitFor } from '../helpers/wait';
import { TEST_KEYS } from '../helpers/media-keys';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'parley-session-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const agreement: Agreement = {
  codec: { name: 'pcm', payloadType: 96, clockRate: 16000, frameMs: 20 },
  red: false,
  localSsrc: 1,
  remoteSsrc: 2,
  remoteCandidates: [{ ip: '127.0.0.1', port: 9, type: 'host' }],
  ...iceFields,
  keys: TEST_KEYS,
};

async function session(devices: { source?: AudioSource; sink?: AudioSink } = {}, timers = new ManualTimers()) {
  const link = await UdpLink.open({ host: '127.0.0.1' });
  const s = new MediaSession({
    link,
    agreement,
    codec: getCodec('pcm'),
    source: devices.source ?? new SilenceSource({ timers }),
    sink: devices.sink ?? new NullSink(),
    timers,
  });
  return { s, link, timers };
}

/** A sink of the caller's own that fails on demand. */
class BreakableSink extends EventEmitter implements AudioSink {
  readonly description = 'breakable';
  async open(): Promise<void> {}
  write(_frame: Frame): void {}
  async close(): Promise<void> {}
}

test('a device that dies mid-call fails the session with its code, message and detail', async () => {
  const { s } = await session();
  await s.start();
  const failed = waitFor<[MediaError]>(s, 'failed');
  const source = (s as unknown as { opts: { source: SilenceSource } }).opts.source;
  source.emit('error', new AudioError('input_device', 'the microphone (arecord) stopped: no such device', { detail: 'arecord: main:831: audio open error' }));
  const [err] = await failed;
  expect(err).toBeInstanceOf(MediaError);
  expect(err).toMatchObject({ code: 'input_device', message: 'the microphone (arecord) stopped: no such device', detail: 'arecord: main:831: audio open error' });
});

test("a sink of the caller's own that errors is an output_device failure", async () => {
  const sink = new BreakableSink();
  const { s } = await session({ sink });
  await s.start();
  const failed = waitFor<[MediaError]>(s, 'failed');
  sink.emit('error', new Error('the headphones fell out'));
  const [err] = await failed;
  expect(err).toMatchObject({ code: 'output_device', message: 'the headphones fell out' });
});

test('the socket failing is a socket failure', async () => {
  const { s, link } = await session();
  await s.start();
  const failed = waitFor<[MediaError]>(s, 'failed');
  link.emit('error', new Error('EPERM'));
  expect((await failed)[0]).toMatchObject({ code: 'socket', message: 'the media socket failed: EPERM' });
});

test('no answer within the timeout is a no_path failure, on the clock the session was given', async () => {
  const { s, timers } = await session();
  const failures: MediaError[] = [];
  s.on('failed', (e) => failures.push(e));
  await s.start();
  timers.advance(4999);
  expect(failures).toEqual([]);
  const failed = waitFor(s, 'failed');
  timers.advance(1);
  await failed;
  expect(failures.map((e) => [e.code, e.message])).toEqual([['no_path', 'no media path to the peer: none of 1 address answered within 5 s']]);
});

test('start() rejects with the device error and leaves nothing open', async () => {
  const source = new SilenceSource();
  const { s, link } = await session({ source, sink: new WavFileSink(join(dir, 'no', 'such', 'out.wav')) });
  const err = await s.start().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(MediaError);
  expect(err).toMatchObject({ code: 'output_device', message: expect.stringMatching(/^cannot write WAV file .*out\.wav: no such directory \(ENOENT\)$/) });
  expect(source.isOpen).toBe(false);
  // The socket is closed: its port can be bound again.
  (await UdpLink.open({ host: '127.0.0.1', port: link.port })).close();
  await expect(s.start()).rejects.toThrow(/already started/);
});

test('devices opened before the call are used as they are; unopened ones are opened by start()', async () => {
  const wav = join(dir, 'in.wav');
  const out = new WavFileSink(join(dir, 'out.wav'));
  writeFileSync(wav, encodeWav(signals.tone(440, 100)));
  const timers = new ManualTimers();
  const source = new WavFileSource(wav, true, { timers });
  await Promise.all([source.open(), out.open()]);
  const { s } = await session({ source, sink: out }, timers);
  await s.start();
  expect(source.isOpen).toBe(true);
  await s.stop();
  expect(source.isOpen).toBe(false);

  const fresh = new WavFileSource(wav, true, { timers });
  const second = await session({ source: fresh, sink: new WavFileSink(join(dir, 'out2.wav')) }, timers);
  await second.s.start();
  expect(fresh.isOpen).toBe(true);
  await second.s.stop();
});

test('a UDP port that cannot be opened is a socket error', async () => {
  const taken = await UdpLink.open({ host: '127.0.0.1' });
  try {
    const err = await UdpLink.open({ host: '127.0.0.1', port: taken.port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaError);
    expect(err).toMatchObject({ code: 'socket', message: `cannot open UDP port 127.0.0.1:${taken.port} for media: the port is in use` });
  } finally {
    taken.close();
  }
});
