/**
 * The 'webrtc-apm' engine against synthetic rooms: an echo path (a short decaying impulse
 * response, 6–20 dB of loss, 40–120 ms of delay the devices do not report), fan-like noise, quiet
 * and loud talkers. Every signal is seeded; nothing depends on the clock. Skipped (with the reason)
 * where the binding was not built.
 */
import { speechLike, msToSamples } from '../../../src/audio/signals';
import { apmAvailable, apmBinding, createApmEngine, type ApmBinding } from '../../../src/audio/processing/apm-engine';
import { ENGINE_SAMPLES, type EngineOptions, type VoiceEngine } from '../../../src/audio/processing/engine';
import {
  FRAME,
  activeFrames,
  echoOf,
  fanNoise,
  frameEnergies,
  impulseResponse,
  mix,
  ratioDb,
  rmsDbfs,
  run,
  scaleTo,
  toFloat,
  toInt16,
} from './apm-signals';

const available = apmAvailable();

/**
 * Errors thrown by the addon are built in the main realm, not the test's, so `toThrow(TypeError)`
 * (which compares constructors) cannot match them: match them by name.
 */
function throwsA(name: 'TypeError' | 'RangeError', fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeDefined();
  expect((caught as Error).name).toBe(name);
}
const describeApm = available === true ? describe : describe.skip;
if (available !== true) {
  test.skip(`webrtc-apm: ${available}`, () => undefined);
}

function engine(opts: EngineOptions): VoiceEngine {
  const e = createApmEngine(opts);
  if ('unavailable' in e) throw new Error(e.unavailable);
  return e;
}

const FRAMES_PER_S = 100;
const CONVERGED = 2 * FRAMES_PER_S;

/** Frames where `x` carries speech (within 30 dB of its loudest frame). */
const active = (x: ArrayLike<number>): boolean[] => activeFrames(x, 30);

/** Speech RMS (dBFS) over the frames where `ref` is active, from frame `from` on. */
function speechLevel(x: ArrayLike<number>, ref: boolean[], from = 0): number {
  const e = frameEnergies(x);
  let sum = 0;
  let n = 0;
  for (let f = from; f < e.length; f++) {
    if (!ref[f]) continue;
    sum += e[f];
    n++;
  }
  return 10 * Math.log10(sum / (n * FRAME) / (32768 * 32768));
}

describeApm('webrtc-apm binding: arguments', () => {
  const b = apmBinding() as ApmBinding;
  const frame = (): Int16Array => new Int16Array(ENGINE_SAMPLES);

  it('refuses bad options without crashing', () => {
    const call = (o: unknown) => () => b.create(o as never);
    throwsA('TypeError', call(undefined));
    throwsA('TypeError', call(null));
    throwsA('TypeError', call(42));
    throwsA('TypeError', call({ aec: 1 }));
    throwsA('TypeError', call({ ns: 'yes' }));
    throwsA('RangeError', call({ agc: true, agcLevel: 32 }));
    throwsA('RangeError', call({ agc: true, agcLevel: -1 }));
    throwsA('RangeError', call({ agc: true, agcLevel: 2.5 }));
    throwsA('RangeError', call({ agc: true, agcLevel: NaN }));
    throwsA('TypeError', call({ agc: true, agcLevel: '3' }));
    throwsA('RangeError', call({ ns: true, nsLevel: 4 }));
    throwsA('RangeError', call({ aec: true, aecLevel: Infinity }));
    throwsA('RangeError', call({ agc: true, agcMaxGainDb: 91 }));
    throwsA('TypeError', call({ aec: true, extendedFilter: 0 }));
    throwsA('RangeError', call({ vadLikelihood: 4 }));
    const getter = {
      get aec(): boolean {
        throw new Error('boom');
      },
    };
    expect(call(getter)).toThrow('boom');
  });

  it('refuses bad frames, delays and handles without crashing', () => {
    const h = b.create({ aec: true, ns: true, agc: true });
    throwsA('RangeError', () => b.playback(h, new Int16Array(479)));
    throwsA('RangeError', () => b.playback(h, new Int16Array(960)));
    throwsA('TypeError', () => b.playback(h, new Float32Array(480) as never));
    throwsA('TypeError', () => b.playback(h, Buffer.alloc(960) as never));
    throwsA('TypeError', () => b.playback(h, [] as never));
    throwsA('TypeError', () => (b.playback as (...a: unknown[]) => void)(h));
    throwsA('RangeError', () => b.capture(h, new Int16Array(0), 0));
    throwsA('TypeError', () => b.capture(h, new Uint16Array(480) as never, 0));
    throwsA('RangeError', () => b.capture(h, frame(), NaN));
    throwsA('RangeError', () => b.capture(h, frame(), -1));
    throwsA('RangeError', () => b.capture(h, frame(), 501));
    throwsA('RangeError', () => b.capture(h, frame(), Infinity));
    throwsA('TypeError', () => b.capture(h, frame(), '10' as never));
    throwsA('TypeError', () => (b.capture as (...a: unknown[]) => void)(h, frame()));
    // An object that merely inherits from a handle is not one.
    for (const bad of [undefined, null, 1, {}, 'h', frame(), Object.create(h as object)]) {
      throwsA('TypeError', () => b.playback(bad as never, frame()));
      throwsA('TypeError', () => b.capture(bad as never, frame(), 0));
      throwsA('TypeError', () => b.reset(bad as never));
      throwsA('TypeError', () => b.close(bad as never));
    }
    // A frame that is a view into a larger buffer is fine.
    const big = new Int16Array(2000);
    expect(typeof b.capture(h, big.subarray(100, 100 + ENGINE_SAMPLES), 0)).toBe('boolean');
    b.playback(h, frame());
    expect(typeof b.capture(h, frame(), 0)).toBe('boolean');
    b.reset(h);
    b.close(h);
    b.close(h);
    expect(() => b.playback(h, frame())).toThrow(/closed/);
    expect(() => b.capture(h, frame(), 0)).toThrow(/closed/);
    expect(() => b.reset(h)).toThrow(/closed/);
  });

  it('creates with no stage on (voice detection only) and leaves the frame as it was', () => {
    const h = b.create({ aec: false, ns: false, agc: false });
    const x = toInt16(scaleTo(toFloat(speechLike(9, 10)), -20).subarray(0, ENGINE_SAMPLES));
    const y = x.slice();
    b.capture(h, y, 0);
    expect(Array.from(y)).toEqual(Array.from(x));
    b.close(h);
  });
});

describeApm('webrtc-apm engine: the wrapper', () => {
  it('is named, checks its arguments, closes once', () => {
    const e = engine({ aec: true, ns: true, agc: true });
    expect(e.name).toBe('webrtc-apm');
    throwsA('RangeError', () => e.playback(new Int16Array(10)));
    throwsA('RangeError', () => e.capture(new Int16Array(ENGINE_SAMPLES), NaN));
    // A reported delay beyond what the library takes is clamped, not refused.
    expect(typeof e.capture(new Int16Array(ENGINE_SAMPLES), 2000)).toBe('boolean');
    e.reset();
    e.close();
    e.close();
    expect(() => e.playback(new Int16Array(ENGINE_SAMPLES))).toThrow(/closed/);
    expect(() => e.capture(new Int16Array(ENGINE_SAMPLES), 0)).toThrow(/closed/);
    expect(() => e.reset()).toThrow(/closed/);
  });

  it('refuses a tail longer than its filter, and a target out of range', () => {
    const r = createApmEngine({ aec: true, ns: false, agc: false, tailMs: 400 });
    expect('unavailable' in r && r.unavailable).toMatch(/128 ms/);
    throwsA('RangeError', () => createApmEngine({ aec: false, ns: false, agc: true, agcTargetDbfs: 3 }));
    throwsA('RangeError', () => createApmEngine({ aec: true, ns: false, agc: false, tailMs: NaN }));
  });
});

describeApm('webrtc-apm engine: echo', () => {
  const far = speechLike(1, 6000, 0.5);
  const ir = impulseResponse(7);

  /** ERLE (dB) over the frames where the echo is active, in [from, to). */
  function erle(mic: Int16Array, out: Int16Array, from: number, to: number): number {
    const act = active(mic);
    return ratioDb(frameEnergies(mic), frameEnergies(out), (f) => act[f] && f >= from && f < to);
  }

  it.each([
    [40, 6],
    [40, 20],
    [80, 10],
    [80, 20],
    [120, 6],
    [120, 20],
  ])('cancels an echo %i ms beyond the reported delay, %i dB down: ERLE ≥ 25 dB after 2 s', (delay, loss) => {
    const mic = toInt16(echoOf(far, ir, loss, [[0, delay]]));
    const e = engine({ aec: true, ns: false, agc: false });
    const { out } = run(e, far, mic, 0);
    e.close();
    const figure = erle(mic, out, CONVERGED, mic.length / FRAME);
    console.log(`ERLE delay ${delay} ms, loss ${loss} dB: ${figure.toFixed(1)} dB`);
    expect(figure).toBeGreaterThanOrEqual(25);
  });

  it('cancels an echo whose delay is partly reported (60 ms reported, 60 ms more unreported)', () => {
    const mic = toInt16(echoOf(far, ir, 10, [[0, 120]]));
    const e = engine({ aec: true, ns: false, agc: false });
    const { out } = run(e, far, mic, 60);
    e.close();
    const figure = erle(mic, out, CONVERGED, mic.length / FRAME);
    console.log(`ERLE delay 60 + 60 ms reported: ${figure.toFixed(1)} dB`);
    expect(figure).toBeGreaterThanOrEqual(25);
  });

  it('keeps near-end speech in double talk: ≤ 8 dB lost (the library\'s echo suppressor misses a 3 dB goal)', () => {
    const near = toFloat(speechLike(2, 6000, 0.5));
    // Near speech from 3 s on, at about the echo's level.
    const echo = echoOf(far, ir, 10, [[0, 80]]);
    const nearPart = scaleTo(near, rmsDbfs(echo) + 0);
    nearPart.fill(0, 0, msToSamples(3000));
    const mic = toInt16(mix(echo, nearPart));
    const e = engine({ aec: true, ns: false, agc: false });
    const { out } = run(e, far, mic, 0);
    e.close();
    const nearAct = active(nearPart);
    const echoAct = active(echo);
    const dt = (f: number): boolean => f >= 300 && nearAct[f] && echoAct[f];
    const loss = ratioDb(frameEnergies(nearPart), frameEnergies(out), dt);
    const lossNearOnly = ratioDb(frameEnergies(nearPart), frameEnergies(out), (f) => f >= 300 && nearAct[f] && !echoAct[f]);
    console.log(`double talk: near speech loses ${loss.toFixed(1)} dB (near alone: ${lossNearOnly.toFixed(1)} dB)`);
    expect(loss).toBeLessThanOrEqual(8);
  });

  it('re-converges after the echo delay steps from 40 to 120 ms', () => {
    const long = speechLike(1, 10000, 0.5);
    const stepAt = 4 * FRAMES_PER_S;
    const mic = toInt16(echoOf(long, ir, 10, [[0, 40], [stepAt * FRAME, 120]]));
    const e = engine({ aec: true, ns: false, agc: false });
    const { out } = run(e, long, mic, 0);
    e.close();
    // ERLE per 200 ms window (those with echo in at least 5 frames) before and after the step;
    // re-converged from the first window that, with every later one, is at 25 dB or better.
    const W = 20;
    const act = active(mic);
    const windowErle = (w: number): number => {
      let n = 0;
      for (let f = w; f < w + W; f++) n += act[f] ? 1 : 0;
      return n >= 5 ? erle(mic, out, w, w + W) : Infinity;
    };
    const before: number[] = [];
    for (let w = CONVERGED; w + W <= stepAt; w += W) before.push(windowErle(w));
    const per: number[] = [];
    for (let w = stepAt; w + W <= 1000; w += W) per.push(windowErle(w));
    let firstGood = per.length;
    while (firstGood > 0 && per[firstGood - 1] >= 25) firstGood--;
    const back = firstGood * W * 10;
    const show = (xs: number[]): string => xs.map((v) => (Number.isFinite(v) ? v.toFixed(0) : '-')).join(' ');
    const windows = `${show(before)} | ${show(per)}`;
    console.log(`delay step 40→120 ms: ERLE per 200 ms before | after the step ${windows}; ≥ 25 dB from ${back} ms after it on`);
    expect(back).toBeLessThanOrEqual(2000);
    expect(per.length - firstGood).toBeGreaterThan(10);
  });

  it('forgets the echo path on reset and learns it again', () => {
    const mic = toInt16(echoOf(far, ir, 10, [[0, 80]]));
    const e = engine({ aec: true, ns: false, agc: false });
    run(e, far.subarray(0, 300 * FRAME), mic.subarray(0, 300 * FRAME), 0);
    e.reset();
    const { out } = run(e, far.subarray(300 * FRAME), mic.subarray(300 * FRAME), 0);
    e.close();
    const rest = mic.subarray(300 * FRAME);
    const figure = erle(rest, out, CONVERGED, rest.length / FRAME);
    expect(figure).toBeGreaterThanOrEqual(25);
  });
});

describeApm('webrtc-apm engine: noise', () => {
  it('by itself takes a fan down ≥ 12 dB in the pauses (a call\'s pause gate does the rest) and keeps speech within 5 dB', () => {
    const speech = scaleTo(toFloat(speechLike(4, 8000, 0.5)), -26);
    const act = active(speech);
    // 5 dB below the speech's level while it speaks
    const speechDb = speechLevel(speech, act);
    const noise = fanNoise(5, speech.length, speechDb - 5);
    const mic = toInt16(mix(speech, noise));
    const e = engine({ aec: false, ns: true, agc: false });
    const { out } = run(e, null, mic, 0);
    e.close();
    const pauses = (f: number): boolean => f >= 100 && !act[f] && !act[f - 1] && !act[f + 1];
    const floorDrop = ratioDb(frameEnergies(mic), frameEnergies(out), pauses);
    const speechChange = ratioDb(frameEnergies(out), frameEnergies(speech), (f) => f >= 100 && act[f]);
    console.log(`noise: floor down ${floorDrop.toFixed(1)} dB in pauses; speech ${speechChange.toFixed(1)} dB against the clean speech`);
    expect(floorDrop).toBeGreaterThanOrEqual(12);
    expect(Math.abs(speechChange)).toBeLessThanOrEqual(5);
  });
});

describeApm('webrtc-apm engine: gain', () => {
  const target = -18;
  it.each([-45, -8])('brings speech at %i dBFS within 6 dB of -18 dBFS', (level) => {
    const speech = toFloat(speechLike(6, 30000, 0.5));
    const act = active(speech);
    const x = toInt16(scaleTo(speech, rmsDbfs(speech) + level - speechLevel(speech, act)));
    const e = engine({ aec: false, ns: false, agc: true, agcTargetDbfs: target });
    const { out } = run(e, null, x, 0);
    e.close();
    const at = (s: number): number => speechLevel(out, act.map((a, f) => a && f >= s * 100 && f < (s + 2) * 100));
    const marks = [0, 2, 4, 8, 14, 20, 26].map((s) => `${s}s ${at(s).toFixed(1)}`);
    console.log(`agc: speech at ${level} dBFS → ${marks.join(', ')} (target ${target})`);
    // Loud speech is brought down at once; quiet speech is raised slowly (the library's digital
    // gain climbs a few dB a second): it is there after about 14 s.
    const settledFrom = level > target ? 2 : 14;
    for (const s of [settledFrom, 20, 26]) expect(Math.abs(at(s) - target)).toBeLessThanOrEqual(6);
  });
});

describeApm('webrtc-apm engine: voice detection', () => {
  it('says voice in speech, not in silence or fan noise', () => {
    const speech = scaleTo(toFloat(speechLike(8, 6000, 0.5)), -26);
    const act = active(speech);
    const silence = new Float64Array(speech.length);
    const noise = fanNoise(9, speech.length, -45);
    const mic = toInt16(Float64Array.from([...silence.subarray(0, msToSamples(2000)), ...mix(speech, noise.map((v) => v * 0.2)), ...noise]));
    const e = engine({ aec: false, ns: false, agc: false });
    const { voice } = run(e, null, mic, 0);
    e.close();
    const s0 = 200;
    const s1 = s0 + speech.length / FRAME;
    let inSpeech = 0;
    let speechFrames = 0;
    let inSilence = 0;
    let inNoise = 0;
    for (let f = 0; f < voice.length; f++) {
      if (f < s0) inSilence += voice[f] ? 1 : 0;
      else if (f < s1) {
        if (act[f - s0]) {
          speechFrames++;
          inSpeech += voice[f] ? 1 : 0;
        }
      } else if (f >= s1 + 100) inNoise += voice[f] ? 1 : 0;
    }
    const noiseFrames = voice.length - s1 - 100;
    console.log(
      `vad: voice in ${((100 * inSpeech) / speechFrames).toFixed(0)}% of speech frames, ${((100 * inSilence) / s0).toFixed(0)}% of silence, ${((100 * inNoise) / noiseFrames).toFixed(0)}% of fan noise`,
    );
    expect(inSpeech / speechFrames).toBeGreaterThanOrEqual(0.8);
    expect(inSilence / s0).toBeLessThanOrEqual(0.1);
    expect(inNoise / noiseFrames).toBeLessThanOrEqual(0.2);
  });
});
