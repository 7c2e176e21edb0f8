/** The frame processor's own work, on engines that record what they are given. */
import { ENGINE_SAMPLES, type VoiceEngine } from '../../../src/audio/processing/engine';
import { VoiceProcessor } from '../../../src/audio/processing/voice-processor';
import { PauseGate } from '../../../src/audio/processing/pause-gate';
import { seededRandom } from '../../../src/audio/signals';
import { rms } from '../../helpers/audio';

/** An engine that halves what it captures and says voice when the frame's first sample is odd. */
function recorder(name: VoiceEngine['name'], verdicts = true) {
  const log: string[] = [];
  const engine: VoiceEngine = {
    name,
    playback: (f) => void log.push(`play ${f.length} ${f[0]}`),
    capture: (f, delay) => {
      log.push(`capture ${f.length} ${f[0]} @${delay}`);
      const voice = (f[0] & 1) === 1;
      for (let i = 0; i < f.length; i++) f[i] >>= 1;
      return verdicts ? voice : null;
    },
    reset: () => void log.push('reset'),
    close: () => void log.push('close'),
  };
  return { engine, log };
}

function frame(values: number[]): Int16Array {
  const f = new Int16Array(values.length * ENGINE_SAMPLES);
  values.forEach((v, i) => f.fill(v, i * ENGINE_SAMPLES, (i + 1) * ENGINE_SAMPLES));
  return f;
}

test('a 20 ms frame goes through every engine in order, 10 ms at a time, in place, with the devices delay', () => {
  const a = recorder('webrtc-apm', false);
  const b = recorder('rnnoise');
  let delay = 30;
  const p = new VoiceProcessor({ engines: [a.engine, b.engine], deviceDelayMs: () => delay });
  const f = frame([40, 80]);
  p.playback(frame([7, 9]));
  p.capture(f);
  delay = 45;
  p.capture(frame([4, 4]));
  expect(a.log).toEqual(['play 480 7', 'play 480 9', 'capture 480 40 @30', 'capture 480 80 @30', 'capture 480 4 @45', 'capture 480 4 @45']);
  expect(b.log.slice(2, 4)).toEqual(['capture 480 20 @30', 'capture 480 40 @30']);
  expect([f[0], f[ENGINE_SAMPLES]]).toEqual([10, 20]);
});

test('the verdict is the last judging engine\'s, any voiced part voices the frame, and voice holds 200 ms', () => {
  const p = new VoiceProcessor({ engines: [recorder('webrtc-apm').engine], deviceDelayMs: () => 0 });
  expect(p.capture(frame([2, 2]))).toBe(false);
  expect(p.capture(frame([2, 3]))).toBe(true);
  // 200 ms of hangover: nine more silent 20 ms frames are still voice, the tenth is not.
  const after = Array.from({ length: 10 }, () => p.capture(frame([2, 2])));
  expect(after).toEqual([...Array(9).fill(true), false]);
  const none = new VoiceProcessor({ engines: [recorder('speexdsp', false).engine], deviceDelayMs: () => 0 });
  expect(none.capture(frame([3, 3]))).toBeNull();
});

test('reset reaches every engine; close closes each once, and a closed processor passes frames untouched', () => {
  const a = recorder('webrtc-apm');
  const p = new VoiceProcessor({ engines: [a.engine], deviceDelayMs: () => 0 });
  p.reset();
  p.close();
  p.close();
  const f = frame([8, 8]);
  expect(p.capture(f)).toBeNull();
  p.playback(f);
  expect(f[0]).toBe(8);
  expect(a.log).toEqual(['reset', 'close']);
});

test('an engine that throws ends the processing, not the call: the frame goes on untouched and why is kept', () => {
  const a = recorder('webrtc-apm');
  a.engine.capture = () => {
    throw new RangeError('webrtc-apm: ProcessStream failed (-11)');
  };
  const p = new VoiceProcessor({ engines: [a.engine], deviceDelayMs: () => 0 });
  const f = frame([6, 6]);
  expect(() => p.capture(f)).not.toThrow();
  expect(p.failure).toBe('webrtc-apm: ProcessStream failed (-11)');
  expect(p.capture(f)).toBeNull();
  expect(f[0]).toBe(6);
  expect(a.log).toEqual(['close']);
});

describe('the pause gate', () => {
  const frame = (amplitude: number, seed: number): Int16Array => {
    const rnd = seededRandom(seed);
    return Int16Array.from({ length: 960 }, () => Math.round((2 * rnd() - 1) * amplitude));
  };

  it('passes voice as it is and turns the background down its depth between words', () => {
    const gate = new PauseGate(12);
    // A second of background to learn it, then speech 30 dB above it, then background again.
    for (let i = 0; i < 50; i++) gate.process(frame(100, i));
    const voice = frame(3200, 99);
    const passed = Int16Array.from(voice);
    expect(gate.process(passed)).toBe(true);
    // Opening takes 5 ms at the start of the first voiced frame; the next one is untouched.
    const next = frame(3200, 100);
    const untouched = Int16Array.from(next);
    gate.process(untouched);
    expect(untouched).toEqual(next);
    const after: number[] = [];
    for (let i = 0; i < 25; i++) {
      const bg = frame(100, 200 + i);
      const out = Int16Array.from(bg);
      gate.process(out);
      after.push(rms(out) / rms(bg));
    }
    // The hangover (150 ms) keeps it open, then it closes over 60 ms, to 12 dB down.
    expect(after[0]).toBeCloseTo(1, 2);
    expect(after.at(-1)).toBeCloseTo(10 ** (-12 / 20), 2);
  });

  it('refuses a depth that is not a number of dB', () => {
    expect(() => new PauseGate(-1)).toThrow(RangeError);
    expect(() => new PauseGate(NaN)).toThrow(RangeError);
  });
});
