import { frameLevel, LevelMeter, meterBar, MIN_DBFS, toDbfs, signals } from '../../src/audio';

describe('level meter', () => {
  it('measures RMS and peak in dBFS', () => {
    const full = frameLevel(new Int16Array(960).fill(-32768));
    expect(full.rms).toBeCloseTo(0, 5);
    expect(full.peak).toBeCloseTo(0, 5);
    const sine = frameLevel(signals.tone(1000, 20, 0.5));
    expect(sine.peak).toBeCloseTo(-6.02, 1);
    expect(sine.rms).toBeCloseTo(-9.03, 1);
    expect(frameLevel(new Int16Array(960))).toEqual({ rms: MIN_DBFS, peak: MIN_DBFS });
    expect(toDbfs(3.2768)).toBeCloseTo(-80, 5);
  });

  it('rises at once and falls at the release rate', () => {
    const meter = new LevelMeter(20);
    const loud = signals.tone(1000, 20, 0.5);
    expect(meter.update(loud, 20).rms).toBeCloseTo(-9.03, 1);
    // 0.5 s of silence at 20 dB/s: down 10 dB.
    let level = meter.current;
    for (let i = 0; i < 25; i++) level = meter.update(new Int16Array(960), 20);
    expect(level.rms).toBeCloseTo(-19.03, 1);
    meter.reset();
    expect(meter.current.rms).toBe(MIN_DBFS);
  });

  it('draws a bar', () => {
    expect(meterBar(0, 10)).toBe('██████████');
    expect(meterBar(-30, 10)).toBe('█████·····');
    expect(meterBar(MIN_DBFS, 4)).toBe('····');
  });
});
