/**
 * Click trains for the device benchmark: a generator that remembers when each click was handed
 * on, a real-time writer that speaks clicks into the pipe source's FIFO, a detector for audio
 * that arrives in timestamped chunks, and the matching of the two.
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { int16ToLE } from '../../src/audio';

const RATE = 48000;
const CLICK_SAMPLES = 96;
const AMPLITUDE = 0.8 * 32767;
/** More than twice the slowest path measured (arecord's defaults, ~125 ms), so every click is matched to the right one. */
export const CLICK_PERIOD_MS = 450;

/** Silence with a 2 ms 2 kHz burst every CLICK_PERIOD_MS (not a whole number of frames or periods). */
export class ClickTrain {
  /** When each click's first sample was handed on (performance.now ms). */
  readonly onsets: number[] = [];
  private sample = 0;
  private readonly period = Math.round((CLICK_PERIOD_MS * RATE) / 1000);

  /** The next `n` samples; sample i counts as handed on at `t0 + i * stepMs`. */
  next(n: number, t0: number, stepMs: number): Int16Array {
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      const phase = (this.sample + i) % this.period;
      if (phase === 0) this.onsets.push(t0 + i * stepMs);
      if (phase < CLICK_SAMPLES) out[i] = Math.round(AMPLITUDE * Math.sin((2 * Math.PI * 2000 * phase) / RATE));
    }
    this.sample += n;
    return out;
  }
}

/** Finds click onsets in audio given in chunks, each stamped with the moment its last sample arrived. */
export class ClickDetector {
  readonly heard: number[] = [];
  private last = -Infinity;

  feed(samples: Int16Array, endTime: number): void {
    for (let i = 0; i < samples.length; i++) {
      if (Math.abs(samples[i]) < 0.25 * AMPLITUDE) continue;
      const t = endTime - ((samples.length - i) * 1000) / RATE;
      if (t - this.last > 150) this.heard.push(t);
      this.last = t;
    }
  }
}

/**
 * Speaks a click train into the pipe source's FIFO in real time: every 2 ms, the samples due
 * since the last write, as a sound card hands on what it captured. Like a captured period, a
 * write's last sample is "now" when the write returns and earlier samples are older.
 * Writes that find the pipe full are dropped and counted.
 */
export class MouthWriter {
  readonly train = new ClickTrain();
  dropped = 0;
  private readonly fd: number;
  private timer: NodeJS.Timeout | undefined;
  private written = 0;
  private t0 = 0;

  constructor(fifo: string) {
    this.fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  }

  start(): void {
    this.t0 = performance.now();
    this.timer = setInterval(() => this.tick(), 2);
  }

  stop(): void {
    clearInterval(this.timer);
    closeSync(this.fd);
  }

  /** Index in the whole stream of the k-th click's first sample. */
  private clickSample(k: number): number {
    return Math.round((k * CLICK_PERIOD_MS * RATE) / 1000);
  }

  private tick(): void {
    const due = Math.floor(((performance.now() - this.t0) * RATE) / 1000) - this.written;
    if (due <= 0) return;
    const before = this.train.onsets.length;
    const bytes = int16ToLE(this.train.next(due, NaN, 0));
    this.written += due;
    try {
      writeSync(this.fd, bytes);
    } catch {
      this.dropped += due;
      this.train.onsets.length = before;
      return;
    }
    const now = performance.now();
    for (let k = before; k < this.train.onsets.length; k++) this.train.onsets[k] = now - ((this.written - this.clickSample(k)) * 1000) / RATE;
  }
}

/**
 * Latency of every click heard, against the click sent nearest to it. Nearest, not nearest
 * before: where the reference moment is uncertain by a few ms (the pipe sink may write a block
 * a little before it is due), a click stamped early then shows as a small negative figure
 * instead of being matched to the click before it (~CLICK_PERIOD_MS).
 */
export function matchClicks(sent: number[], heard: number[]): number[] {
  const lat: number[] = [];
  for (const h of heard) {
    let best: number | undefined;
    for (const s of sent) if (Math.abs(h - s) < CLICK_PERIOD_MS / 2 && (best === undefined || Math.abs(h - s) < Math.abs(h - best))) best = s;
    if (best !== undefined) lat.push(h - best);
  }
  return lat;
}
