import { ENGINE_SAMPLES, type VoiceEngine } from '../../src/audio/processing/engine';
import { msToSamples } from '../../src/audio/signals';
import {
  componentGainDb,
  delayAt,
  doubleTalkLossDb,
  echoScene,
  erleDb,
  fanNoise,
  landingDbfs,
  levelDb,
  noiseFigures,
  noiseScene,
  reconvergenceMs,
  runEngine,
  talker,
  vadAccuracy,
  windowsOf,
  WHISPER_DBFS,
  SHOUT_DBFS,
} from '../helpers/voice-lab';

/** The lag (ms, within [fromMs, toMs]) at which `ref` best matches `x` over a window. */
function bestLagMs(x: Int16Array, ref: Int16Array, [a, b]: [number, number], fromMs: number, toMs: number): number {
  let best = -Infinity;
  let bestLag = 0;
  const [from, to, start, end] = [fromMs, toMs, a, b].map((ms) => msToSamples(ms));
  for (let lag = from; lag <= to; lag++) {
    let dot = 0;
    for (let i = start; i < end; i++) dot += x[i + lag] * ref[i];
    if (dot > best) [best, bestLag] = [dot, lag];
  }
  return (bestLag * 1000) / 48000;
}

const scaled = (x: Int16Array, db: number) => Float64Array.from(x, (v) => v * 10 ** (db / 20));

describe('voice lab: signals', () => {
  it('is deterministic by seed', () => {
    expect(talker(3, 2000).signal).toEqual(talker(3, 2000).signal);
    expect(talker(3, 2000).signal).not.toEqual(talker(4, 2000).signal);
    expect(fanNoise(1, 500)).toEqual(fanNoise(1, 500));
  });

  it('puts talkers and noise at the level asked for', () => {
    for (const db of [WHISPER_DBFS, -26]) {
      const t = talker(5, 6000, db);
      expect(levelDb(t.signal, t.spurts)).toBeCloseTo(db, 0);
    }
    // A shout clips a little: its level lands just under the target.
    const shout = talker(5, 6000, SHOUT_DBFS);
    expect(levelDb(shout.signal, shout.spurts)).toBeGreaterThan(SHOUT_DBFS - 1.5);
    expect(levelDb(fanNoise(2, 2000, -50))).toBeCloseTo(-50, 0);
  });

  it('has spurts and pauses, and labels the voiced frames', () => {
    const s = noiseScene({ seed: 9, ms: 8000, snrDb: 5 });
    expect(s.speech.length).toBeGreaterThanOrEqual(3);
    expect(levelDb(s.clean, s.pauses)).toBe(-150);
    expect(levelDb(s.mixed, s.pauses)).toBeCloseTo(-31, 0);
    const voiced = s.labels.filter(Boolean).length / s.labels.length;
    expect(voiced).toBeGreaterThan(0.3);
    expect(voiced).toBeLessThan(0.9);
  });
});

describe('voice lab: the echo scene', () => {
  const ms = 4000;
  const scene = echoScene({ seed: 1, ms, delayMs: 80, attenuationDb: 12, nearSegments: [[2000, 3000]], farSegments: [[0, 2500]] });

  it('delays and attenuates the far end into the echo', () => {
    expect(levelDb(scene.far) - levelDb(scene.echo)).toBeCloseTo(12, 1);
    // Reflections within a fraction of a ms, so that the peak is the direct path's.
    const dry = echoScene({ seed: 1, ms: 1000, delayMs: 80, attenuationDb: 12, irDecayMs: 0.1 });
    expect(bestLagMs(dry.echo, dry.far, [500, 800], 60, 100)).toBeCloseTo(80, 0);
  });

  it('is echo plus near, labelled by who talks', () => {
    const i = msToSamples(2200);
    expect(scene.mic[i]).toBe(scene.echo[i] + scene.near[i]);
    expect(scene.segments.map((s) => s.label)).toEqual(['far-only', 'double-talk', 'near-only', 'silence']);
    expect(windowsOf(scene.segments, 'double-talk')).toEqual([[2000, 2500]]);
    expect(windowsOf(scene.segments, 'far-only', 1000)).toEqual([[1000, 2000]]);
  });

  it('steps its delay', () => {
    const steps = [{ atMs: 0, delayMs: 40 }, { atMs: 1000, delayMs: 120 }];
    expect(delayAt(steps, 999)).toBe(40);
    expect(delayAt(steps, 1000)).toBe(120);
    const stepped = echoScene({ seed: 1, ms: 2000, delayMs: steps, attenuationDb: 6, irDecayMs: 0.1 });
    expect(bestLagMs(stepped.echo, stepped.far, [500, 800], 20, 140)).toBeCloseTo(40, 0);
    expect(bestLagMs(stepped.echo, stepped.far, [1300, 1600], 20, 140)).toBeCloseTo(120, 0);
  });
});

describe('voice lab: metrics', () => {
  const scene = echoScene({ seed: 2, ms: 3000, delayMs: 40, attenuationDb: 10 });

  it('measures ERLE and levels exactly', () => {
    expect(erleDb(scene.mic, scaled(scene.mic, -30))).toBeCloseTo(30, 1);
    expect(erleDb(scene.mic, scaled(scene.mic, -30), [[500, 1500]])).toBeCloseTo(30, 1);
    const x = new Int16Array(48000).fill(3277);
    expect(levelDb(x)).toBeCloseTo(-20, 1);
  });

  it('finds a delay step where it is', () => {
    const out = Float64Array.from(scene.mic);
    const good = msToSamples(1300);
    for (let i = good; i < out.length; i++) out[i] *= 10 ** (-30 / 20);
    const r = reconvergenceMs(scene.mic, out, 1000, 20);
    expect(r).not.toBeNull();
    expect(Math.abs(r! - 300)).toBeLessThanOrEqual(10);
    expect(reconvergenceMs(scene.mic, scene.mic, 1000, 20)).toBeNull();
  });

  it('measures a component through a gain and a lag', () => {
    const near = talker(4, 3000).signal;
    const noise = fanNoise(4, 3000, -40);
    const out = new Float64Array(near.length);
    const lag = ENGINE_SAMPLES;
    for (let i = 0; i + lag < out.length; i++) out[i + lag] = near[i] * 0.5 + noise[i + lag];
    expect(componentGainDb(out, near, [[0, 3000]])).toBeCloseTo(-6.02, 0);
  });

  it('measures the near talker lost in double talk, whatever echo is left', () => {
    const s = echoScene({ seed: 6, ms: 3000, delayMs: 40, attenuationDb: 6, nearSegments: [[1000, 2500]] });
    const out = Float64Array.from(s.near, (v, i) => v * 0.5 + s.echo[i] * 0.1);
    expect(doubleTalkLossDb(out, s.near, windowsOf(s.segments, 'double-talk'))).toBeCloseTo(6.02, 0);
  });

  it('gives noise suppression figures', () => {
    const s = noiseScene({ seed: 3, ms: 6000, snrDb: 5 });
    // A perfect suppressor: the clean speech itself.
    const perfect = noiseFigures(s, s.clean);
    expect(perfect.floorDropDb).toBeGreaterThan(100);
    expect(perfect.speechChangeDb).toBeCloseTo(0, 1);
    const halved = noiseFigures(s, scaled(s.mixed, -6));
    expect(halved.floorDropDb).toBeCloseTo(6, 1);
    expect(halved.speechChangeDb).toBeCloseTo(-6, 1);
  });

  it('finds where gain control landed', () => {
    const s = noiseScene({ seed: 5, ms: 8000, snrDb: 40, speechDbfs: WHISPER_DBFS });
    const late = s.speech.filter(([a]) => a >= 4000);
    const raised = scaled(s.mixed, 25);
    expect(landingDbfs(s, raised, 4000) - levelDb(s.mixed, late)).toBeCloseTo(25, 1);
  });

  it('scores VAD verdicts', () => {
    expect(vadAccuracy([true, false, null, true], [true, true, true, true])).toBeCloseTo(2 / 3);
    expect(vadAccuracy([null], [true])).toBeNull();
  });
});

describe('voice lab: runEngine', () => {
  it('plays then captures each 10 ms frame, with the delay asked for', () => {
    const calls: string[] = [];
    const engine: VoiceEngine = {
      name: 'rnnoise',
      playback: (f) => calls.push(`p${f[0]}`),
      capture: (f, d) => {
        calls.push(`c${f[0]}@${d}`);
        f.fill(f[0] + 1);
        return f[0] > 2;
      },
      reset: () => undefined,
      close: () => undefined,
    };
    const far = Int16Array.from({ length: 3 * ENGINE_SAMPLES }, (_, i) => Math.floor(i / ENGINE_SAMPLES) * 10);
    const mic = Int16Array.from({ length: 3 * ENGINE_SAMPLES }, (_, i) => Math.floor(i / ENGINE_SAMPLES));
    const { out, vad } = runEngine(engine, far, mic, { delayMs: (ms) => ms });
    expect(calls).toEqual(['p0', 'c0@0', 'p10', 'c1@10', 'p20', 'c2@20']);
    expect(vad).toEqual([false, false, true]);
    expect(out[ENGINE_SAMPLES * 2 + 5]).toBe(3);
    expect(mic[0]).toBe(0);
  });
});
