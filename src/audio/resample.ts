/**
 * Band-limited resampling by windowed sinc (Blackman window), evaluated from a polyphase
 * table. The cut-off sits just below the lower of the two Nyquist frequencies, so the same
 * kernel is the anti-alias filter when downsampling and the anti-image filter when upsampling.
 * Samples are floats in 16-bit units (-32768..32767); see toInt16 for the way back.
 */

/** Zero crossings of the sinc on each side: more is sharper and slower (and adds delay). */
const ZERO_CROSSINGS = 16;
/** Fraction of the lower Nyquist frequency kept: the rest is the filter's transition band. */
const PASSBAND = 0.95;
/** Phase resolution for rate pairs whose exact phase count would make a huge table. */
const MAX_PHASES = 4096;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

export type Samples = ArrayLike<number>;

/**
 * Streaming resampler: feed blocks of any size to process(); state carries across calls so
 * block edges leave no trace. Output lags input by `delay` input samples (about 1 ms).
 * An exact ratio (48000→16000, 16000→48000) yields exactly in×to/from samples per block.
 */
export class Resampler {
  /** Kernel half-width in input samples: the output's delay in the streaming mode. */
  readonly delay: number;
  private readonly step: number;
  private readonly den: number;
  private readonly phases: number;
  private readonly taps: number;
  private readonly table: Float32Array;
  private buf: Float32Array;
  /** Position of the next output in `buf`: integer part plus frac/den. */
  private pos: number;
  private frac = 0;

  /** `aligned` starts with zero delay (for whole signals: the caller appends `delay` zeros). */
  constructor(
    readonly fromRate: number,
    readonly toRate: number,
    aligned = false,
  ) {
    if (!(fromRate > 0 && toRate > 0) || !Number.isInteger(fromRate) || !Number.isInteger(toRate)) {
      throw new Error(`resampler rates must be positive integers, got ${fromRate} → ${toRate}`);
    }
    const g = gcd(fromRate, toRate);
    this.den = toRate / g;
    this.step = fromRate / g;
    const cutoff = Math.min(1, toRate / fromRate) * PASSBAND;
    this.delay = Math.ceil(ZERO_CROSSINGS / cutoff);
    this.taps = 2 * this.delay;
    this.phases = Math.min(this.den, MAX_PHASES);
    this.table = buildTable(this.phases, this.delay, cutoff);
    // History of 2·delay zeros puts the first output `delay` samples behind the input; a
    // history of `delay` zeros centres it on input sample 0.
    this.buf = new Float32Array(aligned ? this.delay : 2 * this.delay);
    this.pos = this.delay;
  }

  process(input: Samples): Float32Array {
    const buf = new Float32Array(this.buf.length + input.length);
    buf.set(this.buf);
    for (let i = 0; i < input.length; i++) buf[this.buf.length + i] = input[i];

    const { delay, taps, table, step, den, phases } = this;
    const out: number[] = [];
    let pos = this.pos;
    let frac = this.frac;
    while (pos + delay < buf.length) {
      const phase = phases === den ? frac : Math.round((frac * phases) / den) % phases;
      const row = phase * taps;
      const first = pos - delay + 1;
      let acc = 0;
      for (let k = 0; k < taps; k++) acc += buf[first + k] * table[row + k];
      out.push(acc);
      frac += step;
      pos += Math.floor(frac / den);
      frac %= den;
    }
    // Keep only the history the next output can still reach.
    const keepFrom = Math.max(0, Math.min(pos - delay + 1, buf.length));
    this.buf = buf.slice(keepFrom);
    this.pos = pos - keepFrom;
    this.frac = frac;
    return Float32Array.from(out);
  }
}

/** Row p holds the 2·half taps for an output that falls p/phases of a sample past a tap. */
function buildTable(phases: number, half: number, cutoff: number): Float32Array {
  const taps = 2 * half;
  const table = new Float32Array(phases * taps);
  for (let p = 0; p < phases; p++) {
    const offset = p / phases;
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      const x = k - (half - 1) - offset; // distance from the output position, in input samples
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * cutoff * x) / (Math.PI * cutoff * x);
      const w = 0.42 + 0.5 * Math.cos((Math.PI * x) / half) + 0.08 * Math.cos((2 * Math.PI * x) / half);
      const v = Math.abs(x) >= half ? 0 : sinc * w;
      table[p * taps + k] = v;
      sum += v;
    }
    // Unity gain at DC for every phase, so a constant stays constant.
    for (let k = 0; k < taps; k++) table[p * taps + k] /= sum;
  }
  return table;
}

/** Resamples a whole signal with no delay: output sample 0 is input sample 0. */
export function resample(input: Samples, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return Float32Array.from(input);
  const r = new Resampler(fromRate, toRate, true);
  const head = r.process(input);
  const tail = r.process(new Float32Array(r.delay));
  const length = Math.ceil((input.length * toRate) / fromRate);
  const out = new Float32Array(length);
  out.set(head.subarray(0, length));
  if (head.length < length) out.set(tail.subarray(0, length - head.length), head.length);
  return out;
}

/** Averages interleaved channels into one. */
export function downmix(interleaved: Samples, channels: number): Float32Array {
  if (!Number.isInteger(channels) || channels < 1) throw new Error(`bad channel count ${channels}`);
  const frames = Math.floor(interleaved.length / channels);
  const out = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let acc = 0;
    for (let c = 0; c < channels; c++) acc += interleaved[i * channels + c];
    out[i] = acc / channels;
  }
  return out;
}

/** Rounds and clips float samples in 16-bit units into an Int16Array. */
export function toInt16(samples: Samples): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.round(samples[i]);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}
