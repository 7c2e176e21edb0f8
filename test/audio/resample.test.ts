import { Resampler, resample, downmix, toInt16, signals } from '../../src/audio';
import { bestLag, dominantFrequency, rms, toneShare } from '../helpers/audio';

function sine(freq: number, rate: number, seconds: number, amplitude = 10000): Float32Array {
  const n = Math.round(rate * seconds);
  return Float32Array.from({ length: n }, (_, i) => amplitude * Math.sin((2 * Math.PI * freq * i) / rate));
}

describe('resample', () => {
  it('keeps a 1 kHz tone at 1 kHz from 44.1 kHz to 48 kHz', () => {
    const out = resample(sine(1000, 44100, 0.5), 44100, 48000);
    expect(out.length).toBe(24000);
    expect(Math.abs(dominantFrequency(out, 48000, 500, 2000, 2) - 1000)).toBeLessThanOrEqual(2);
    expect(toneShare(out.subarray(1000, 23000), 1000)).toBeGreaterThan(0.99);
    expect(rms(out.subarray(1000, 23000)) / (10000 / Math.SQRT2)).toBeCloseTo(1, 2);
  });

  it('is nearly transparent for speech-band audio through 48k → 16k → 48k', () => {
    const input = signals.speechLike(5, 1000);
    const out = resample(resample(input, 48000, 16000), 16000, 48000);
    expect(out.length).toBe(input.length);
    const { lag, correlation } = bestLag(input, out, 10);
    expect(lag).toBe(0);
    expect(correlation).toBeGreaterThan(0.995);
  });

  it('filters out what the lower rate cannot carry instead of aliasing it', () => {
    // 12 kHz at 48 kHz would alias to 4 kHz at 16 kHz without the low-pass.
    const out = resample(sine(12000, 48000, 0.5), 48000, 16000);
    expect(rms(out.subarray(200, out.length - 200))).toBeLessThan(10000 * 0.01);
  });

  it('streams in blocks with the same result as one call, and exact block sizes for 3:1', () => {
    const input = sine(700, 48000, 0.2);
    const whole = new Resampler(48000, 16000).process(input);
    const r = new Resampler(48000, 16000);
    const parts: number[] = [];
    for (let i = 0; i < input.length; i += 960) {
      const block = r.process(input.subarray(i, i + 960));
      expect(block.length).toBe(320);
      parts.push(...block);
    }
    expect(parts.length).toBe(whole.length);
    for (let i = 0; i < whole.length; i++) expect(parts[i]).toBeCloseTo(whole[i], 2);
    const up = new Resampler(16000, 48000);
    expect(up.process(new Float32Array(320)).length).toBe(960);
  });

  it('delays a stream by `delay` input samples', () => {
    const r = new Resampler(16000, 48000);
    const impulse = new Float32Array(320);
    impulse[100] = 10000;
    const out = r.process(impulse);
    let peakAt = 0;
    for (let i = 0; i < out.length; i++) if (Math.abs(out[i]) > Math.abs(out[peakAt])) peakAt = i;
    expect(peakAt).toBe((100 + r.delay) * 3);
  });

  it('rejects nonsense rates', () => {
    expect(() => new Resampler(0, 48000)).toThrow(/positive integers/);
    expect(() => new Resampler(44100.5, 48000)).toThrow(/positive integers/);
  });
});

describe('downmix and toInt16', () => {
  it('averages channels', () => {
    expect(Array.from(downmix([100, 300, -50, 50, 7, 9], 2))).toEqual([200, 0, 8]);
    expect(() => downmix([1, 2], 0)).toThrow(/channel/);
  });

  it('rounds and clips', () => {
    expect(Array.from(toInt16([0.4, -0.6, 40000, -40000]))).toEqual([0, -1, 32767, -32768]);
  });
});
