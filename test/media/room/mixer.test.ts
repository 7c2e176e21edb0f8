/** The room's mixer: streams summed without wrapping, a limiter instead of clipping. */
import { Mixer } from '../../../src/media/room/mixer';
import { concatFrames, goertzel, rms, toneShare } from '../../helpers/audio';

const N = 960;

/** `frames` frames of a sine at `freq` Hz, `amplitude` of full scale, continuous across frames. */
function tone(freq: number, amplitude: number, frames: number): Int16Array[] {
  const out: Int16Array[] = [];
  for (let k = 0; k < frames; k++) {
    const f = new Int16Array(N);
    for (let i = 0; i < N; i++) f[i] = Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * freq * (k * N + i)) / 48000));
    out.push(f);
  }
  return out;
}

const db = (p: number) => 10 * Math.log10(p);

test('three tones mixed keep each its own level within 1 dB', () => {
  const freqs = [440, 1000, 2300];
  const inputs = freqs.map((f) => tone(f, 0.3, 50));
  const mixer = new Mixer({ samples: N });
  const out = concatFrames(inputs[0].map((_, k) => mixer.mix(inputs.map((t) => t[k]))));
  freqs.forEach((f, j) => {
    expect(Math.abs(db(goertzel(out, f)) - db(goertzel(concatFrames(inputs[j]), f)))).toBeLessThan(1);
  });
});

test('one stream below the ceiling passes through unchanged, also after the limiter has worked', () => {
  const mixer = new Mixer({ samples: N });
  const quiet = tone(700, 0.5, 40);
  for (const f of quiet.slice(0, 5)) expect(mixer.mix([f])).toEqual(f);
  // A loud moment ducks the gain; it comes back to exactly 1 within a few hundred ms.
  for (const [a, b] of tone(300, 0.9, 5).map((f, k) => [f, tone(500, 0.9, 5)[k]])) mixer.mix([a, b]);
  expect(mixer.currentGain).toBeLessThan(0.7);
  for (const f of quiet.slice(5, 35)) mixer.mix([f]);
  expect(mixer.currentGain).toBe(1);
  expect(mixer.mix([quiet[35]])).toEqual(quiet[35]);
});

test('two near-full-scale tones never wrap: the output follows the clamped float sum in sign, peak within full scale', () => {
  const a = tone(300, 0.95, 40);
  const b = tone(450, 0.95, 40);
  const mixer = new Mixer({ samples: N });
  let flips = 0;
  let peak = 0;
  let onRails = 0;
  for (let k = 0; k < a.length; k++) {
    const out = mixer.mix([a[k], b[k]]);
    for (let i = 0; i < N; i++) {
      const float = Math.max(-32768, Math.min(32767, a[k][i] + b[k][i]));
      if (Math.abs(float) > 2000 && Math.sign(out[i]) !== Math.sign(float)) flips++;
      peak = Math.max(peak, Math.abs(out[i]));
      // A clipped sum sits on the rails; the limiter keeps every peak just under them.
      if (out[i] >= 32767 || out[i] <= -32768) onRails++;
    }
  }
  expect(flips).toBe(0);
  expect(peak).toBeLessThanOrEqual(32767);
  expect(peak).toBeGreaterThan(25000);
  expect(onRails).toBe(0);
  // Both tones are still there, at about the same level, with little else (clipping would add harmonics).
  const again = new Mixer({ samples: N });
  const out = concatFrames(a.map((f, k) => again.mix([f, b[k]])));
  expect(Math.abs(db(goertzel(out, 300)) - db(goertzel(out, 450)))).toBeLessThan(1);
  expect(toneShare(out, 300) + toneShare(out, 450)).toBeGreaterThan(0.97);
});

test('silence in, silence out; no frames at all is a frame of silence', () => {
  const mixer = new Mixer({ samples: N });
  const silent = new Int16Array(N);
  expect(rms(mixer.mix([silent, silent, silent]))).toBe(0);
  const none = mixer.mix([]);
  expect(none).toHaveLength(N);
  expect(rms(none)).toBe(0);
});
