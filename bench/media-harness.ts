/**
 * Shared pieces of the media benchmarks: a server and two phones on loopback (optionally
 * through the impairment proxy), a click source that remembers when each click entered it,
 * and click detection on what the other side's sink was given.
 */
import { performance } from 'node:perf_hooks';
import { PacedSource, SilenceSource } from '../src/audio';
import type { Frame } from '../src/audio/types';
import { Phone, type ActiveCall, type PhoneOptions } from '../src/client/phone';
import { startServer, type RunningServer } from '../src/server';
import { ImpairmentProxy, type Impairment } from '../test/e2e/impairment-proxy';
import { RecordingSink } from '../test/e2e/media-helpers';

const RATE = 48000;
const CLICK_SAMPLES = 96;
const CLICK_AMPLITUDE = 0.8 * 32767;

/** Silence with a 2 ms 2 kHz burst every `periodMs`; the period is not a whole number of frames, so clicks land anywhere in a frame. */
export class ClickSource extends PacedSource {
  readonly description = 'clicks';
  /** When each click's first sample entered the source (performance.now ms). */
  readonly onsets: number[] = [];
  private sample = 0;
  private readonly period: number;

  constructor(periodMs = 373) {
    super();
    this.period = Math.round((periodMs * RATE) / 1000);
  }

  protected nextFrame(samples: number): Frame {
    const now = performance.now();
    const frame = new Int16Array(samples);
    for (let i = 0; i < samples; i++) {
      const phase = (this.sample + i) % this.period;
      if (phase === 0) this.onsets.push(now - ((samples - i) * 1000) / RATE);
      if (phase < CLICK_SAMPLES) frame[i] = Math.round(CLICK_AMPLITUDE * Math.sin((2 * Math.PI * 2000 * phase) / RATE));
    }
    this.sample += samples;
    return frame;
  }
}

/** Moments clicks reached the sink: a frame's write time plus the sample's place in it. */
export function detectClicks(sink: RecordingSink, threshold = 0.25 * CLICK_AMPLITUDE, quietMs = 150): number[] {
  const out: number[] = [];
  let last = -Infinity;
  sink.frames.forEach((frame, f) => {
    for (let i = 0; i < frame.length; i++) {
      if (Math.abs(frame[i]) < threshold) continue;
      const t = sink.times[f] + (i * 1000) / RATE;
      if (t - last > quietMs) out.push(t);
      last = t;
    }
  });
  return out;
}

/** Mouth-to-ear delay of every click that came out, matched to the latest click sent before it. */
export function clickLatencies(sent: number[], heard: number[], maxMs = 400): number[] {
  const lat: number[] = [];
  for (const h of heard) {
    let best: number | undefined;
    for (const s of sent) if (s <= h && h - s < maxMs) best = s;
    if (best !== undefined) lat.push(h - best);
  }
  return lat;
}

export function percentile(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

export const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface PairOptions {
  codec: 'opus' | 'pcm';
  frameMs: 10 | 20 | 40;
  impairment?: Impairment;
}

/** A server, and alice calling bob; alice sends clicks, bob records. */
export async function clickCall(opts: PairOptions, seconds: number) {
  const server: RunningServer = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logLevel: 'error' });
  const proxy = opts.impairment ? await ImpairmentProxy.start(opts.impairment) : undefined;
  const base = (side: 'a' | 'b'): PhoneOptions => ({
    server: { host: '127.0.0.1', port: server.port },
    udpHost: '127.0.0.1',
    codecs: [opts.codec],
    frameMs: opts.frameMs,
    candidates: proxy?.advertise(side),
  });
  const alice = await Phone.connect(base('a'));
  const bob = await Phone.connect(base('b'));
  await alice.register('alice');
  await bob.register('bob');
  const clicks = new ClickSource();
  const heard = new RecordingSink();
  const bobCall = new Promise<ActiveCall>((r) =>
    bob.once('incoming', (c) => void c.accept({ input: new SilenceSource(), output: heard }).then(r)),
  );
  const call = await alice.call('bob', { input: clicks, output: 'null' }).result;
  const b = await bobCall;
  await sleep(seconds * 1000);
  const stats = b.stats();
  await call.hangup();
  await Promise.all([alice.close(), bob.close()]);
  proxy?.close();
  await server.close();
  // The first second is start-up: the buffer is still finding its level.
  const start = heard.times[0] + 1000;
  const latencies = clickLatencies(clicks.onsets, detectClicks(heard).filter((t) => t > start));
  return { latencies, stats, clicksSent: clicks.onsets.filter((t) => t > start).length };
}
