/**
 * The PulseAudio backends when things go wrong: no binding input that makes sense, no server,
 * the server dying mid-stream. Each must end as an AudioError (a rejected open, an 'error'
 * event), never a crash or a hang.
 */
import { spawnSync } from 'node:child_process';
import { AudioError, FirstSink, PulseSink, PulseSource, createSink, createSource, signals } from '../../src/audio';
import { pulseBinding } from '../../src/audio/pulse-binding';
import { PulseDaemon, missingPieces } from '../../bench/device/pulse';
import { brokenAlsaConfig } from '../helpers/audio';
import { waitFor } from '../helpers/wait';

const NO_SERVER = { PULSE_SERVER: 'unix:/nonexistent/parley/native' };
const binding = pulseBinding('output_device');
const built = !(binding instanceof AudioError);
const daemonThere = built && missingPieces().length === 0 && spawnSync('pulseaudio', ['--version']).status === 0;
if (!built) console.warn(`pulse binding tests skipped: ${(binding as AudioError).message}`);
const withBinding = built ? describe : describe.skip;
const withDaemon = daemonThere ? describe : describe.skip;

withBinding('the binding refuses bad input with an exception', () => {
  const b = binding as Exclude<typeof binding, AudioError>;
  it('open() without options or callback', () => {
    // Thrown from native code, in the main realm: matched by message, not by class.
    expect(() => (b.open as unknown as (...a: unknown[]) => unknown)()).toThrow('open(options, onEvent) expects an object and a function');
    expect(() => (b.open as unknown as (...a: unknown[]) => unknown)({ playback: true }, 'not a function')).toThrow('expects an object and a function');
    expect(() => b.open({ playback: true, rate: 0, channels: 1 }, () => {})).toThrow('must be positive integers');
  });
  it('write() and latency() on something that is not a stream', () => {
    const fake = {} as Parameters<typeof b.write>[0];
    expect(() => b.write(fake, Buffer.alloc(2))).toThrow('expected a stream handle');
    expect(() => b.latency(fake)).toThrow('expected a stream handle');
  });
});

withBinding('no PulseAudio server', () => {
  it('the speaker rejects open with the reason, as an output_device AudioError', async () => {
    const err = await new PulseSink({ env: NO_SERVER }).open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AudioError);
    expect(err).toMatchObject({ code: 'output_device', message: 'the speaker (PulseAudio) would not open: Connection refused' });
  });
  it('the microphone rejects open the same way, as an input_device AudioError', async () => {
    const err = await new PulseSource({ env: NO_SERVER }).open().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'input_device', message: 'the microphone (PulseAudio) would not open: Connection refused' });
  });
  it('plain speaker falls back to ALSA, and says both reasons when that fails too', async () => {
    const broken = brokenAlsaConfig();
    try {
      const sink = createSink('speaker', { env: { ...broken.env, ...NO_SERVER } });
      expect(sink).toBeInstanceOf(FirstSink);
      const err = (await sink.open().catch((e: unknown) => e)) as AudioError;
      expect(err).toMatchObject({ code: 'output_device', message: expect.stringMatching(/^the speaker \(aplay\) would not open: /) });
      expect(err.detail).toMatch(/PulseSink: the speaker \(PulseAudio\) would not open: Connection refused/);
      const micErr = (await createSource('mic', { env: { ...broken.env, ...NO_SERVER } }).open().catch((e: unknown) => e)) as AudioError;
      expect(micErr).toMatchObject({ code: 'input_device', message: expect.stringMatching(/^the microphone \(arecord\) would not open: /) });
    } finally {
      broken.cleanup();
    }
  });
  it('writing to and closing a sink that never opened does nothing', async () => {
    const sink = new PulseSink({ env: NO_SERVER });
    sink.write(signals.tone(440, 20));
    expect(sink.latencyMs()).toBeUndefined();
    await sink.close();
    await sink.close();
  });
});

withDaemon('the server dies mid-stream', () => {
  it('the speaker and the microphone each emit one AudioError and stop', async () => {
    const pulse = await PulseDaemon.start(['load-module module-null-sink sink_name=spk rate=48000 channels=1 format=s16le norewinds=1']);
    try {
      const sink = new PulseSink({ env: pulse.env, device: 'spk' });
      const mic = new PulseSource({ env: pulse.env, device: 'spk.monitor' });
      await sink.open();
      await mic.start(960, () => {});
      const timer = setInterval(() => sink.write(signals.tone(440, 20)), 20);
      await new Promise((r) => setTimeout(r, 300));
      expect(sink.latencyMs()).toBeGreaterThan(0);
      expect(mic.latencyMs()).toBeGreaterThanOrEqual(0);
      const sinkErr = waitFor<[AudioError]>(sink, 'error');
      const micErr = waitFor<[AudioError]>(mic, 'error');
      await pulse.stop();
      const [[se], [me]] = await Promise.all([sinkErr, micErr]);
      clearInterval(timer);
      expect(se).toMatchObject({ code: 'output_device', message: expect.stringMatching(/^the speaker \(PulseAudio\) stopped: /) });
      expect(me).toMatchObject({ code: 'input_device', message: expect.stringMatching(/^the microphone \(PulseAudio\) stopped: /) });
      expect(sink.isOpen).toBe(false);
      await sink.close();
      await mic.stop();
    } finally {
      await pulse.stop();
    }
  }, 20_000);
});
