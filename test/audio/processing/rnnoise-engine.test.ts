import { ENGINE_SAMPLES, type VoiceEngine } from '../../../src/audio/processing/engine';
import { ENGINE_FACTORIES } from '../../../src/audio/processing/engines';
import { createRnnoiseEngine, rnnoiseAvailable } from '../../../src/audio/processing/rnnoise-engine';
import { noiseFigures, noiseScene, runEngine, vadAccuracy } from '../../helpers/voice-lab';

const NS = { aec: false, ns: true, agc: false };

async function engine(): Promise<VoiceEngine> {
  const e = await createRnnoiseEngine(NS);
  if ('unavailable' in e) throw new Error(e.unavailable);
  return e;
}

describe('rnnoise engine', () => {
  it('loads here (the package is installed with the project)', async () => {
    expect(await rnnoiseAvailable()).toBeNull();
    expect(ENGINE_FACTORIES.rnnoise).toBe(createRnnoiseEngine);
  });

  it('refuses echo cancellation and gain control', async () => {
    expect(await createRnnoiseEngine({ aec: true, ns: true, agc: false })).toEqual({ unavailable: expect.stringMatching(/echo cancellation/) });
    expect(await createRnnoiseEngine({ aec: false, ns: true, agc: true })).toEqual({ unavailable: expect.stringMatching(/gain control/) });
  });

  it('lowers a fan under speech at 5 dB SNR, and keeps the speech', async () => {
    const scene = noiseScene({ seed: 11, ms: 8000, snrDb: 5 });
    const e = await engine();
    const { out, vad } = runEngine(e, new Int16Array(0), scene.mixed);
    e.close();
    const figures = noiseFigures(scene, out, 1000);
    expect(figures.floorDropDb).toBeGreaterThan(8);
    expect(figures.speechChangeDb).toBeGreaterThan(-3);
    expect(vadAccuracy(vad, scene.labels, 1000)).toBeGreaterThan(0.75);
  });

  it('is deterministic, and independent between instances', async () => {
    const scene = noiseScene({ seed: 12, ms: 1000, snrDb: 10 });
    const [a, b] = [await engine(), await engine()];
    const outA = runEngine(a, new Int16Array(0), scene.mixed).out;
    const outB = runEngine(b, new Int16Array(0), scene.mixed).out;
    expect(outA).toEqual(outB);
    a.close();
    b.close();
  });

  it('refuses frames of the wrong size or type', async () => {
    const e = await engine();
    expect(() => e.capture(new Int16Array(ENGINE_SAMPLES - 1), 0)).toThrow(RangeError);
    expect(() => e.capture(new Float32Array(ENGINE_SAMPLES) as unknown as Int16Array, 0)).toThrow(RangeError);
    expect(() => e.playback(new Int16Array(960))).toThrow(RangeError);
    expect(e.capture(new Int16Array(ENGINE_SAMPLES), 0)).toBe(false);
    e.close();
  });

  it('closes once; later calls throw', async () => {
    const e = await engine();
    e.reset();
    e.close();
    expect(() => e.close()).not.toThrow();
    expect(() => e.capture(new Int16Array(ENGINE_SAMPLES), 0)).toThrow(/closed/);
    expect(() => e.playback(new Int16Array(ENGINE_SAMPLES))).toThrow(/closed/);
    expect(() => e.reset()).toThrow(/closed/);
  });

  it('keeps full-scale input in range', async () => {
    const e = await engine();
    const frame = new Int16Array(ENGINE_SAMPLES);
    for (let k = 0; k < 50; k++) {
      frame.forEach((_, i) => (frame[i] = i % 2 ? 32767 : -32768));
      e.capture(frame, 0);
    }
    expect(frame.every((v) => v >= -32768 && v <= 32767)).toBe(true);
    e.close();
  });
});
