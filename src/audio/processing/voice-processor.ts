import { SAMPLE_RATE, type Frame } from '../types';
import { ENGINE_SAMPLES, type VoiceEngine } from './engine';
import type { FrameProcessor } from './frame-processor';
import type { PauseGate } from './pause-gate';

/** Voice goes on this long after the engines last heard it: word tails and short pauses are speech. */
const HANGOVER_MS = 200;

export interface VoiceProcessorOptions {
  /** The engines the microphone goes through, in order (e.g. a canceller, then a denoiser). */
  engines: VoiceEngine[];
  /**
   * The echo path's delay as the devices report it, read for every frame: what the speaker
   * device still holds plus what the microphone device held before handing the frame on.
   */
  deviceDelayMs: () => number;
  /** Turns the background down further between words, after the engines (with noise suppression). */
  pauseGate?: PauseGate;
}

/**
 * A session's microphone processing: each frame cut into the engines' 10 ms frames, the
 * speaker's frames handed to every engine as its echo reference, the microphone's through the
 * engines in order. Frames are views, never copies: processing costs no allocation.
 */
export class VoiceProcessor implements FrameProcessor {
  private closed = false;
  /** Samples since the engines last said voice; Infinity before they ever did. */
  private sinceVoice = Infinity;

  constructor(private readonly opts: VoiceProcessorOptions) {}

  get engineNames(): string[] {
    return this.opts.engines.map((e) => e.name);
  }

  /** Why processing stopped mid-call (an engine threw), or null. */
  failure: string | null = null;

  capture(frame: Frame): boolean | null {
    if (this.closed) return null;
    try {
      return this.process(frame);
    } catch (err) {
      this.fail(err);
      return null;
    }
  }

  private process(frame: Frame): boolean | null {
    const delayMs = this.opts.deviceDelayMs();
    let verdict: boolean | null = null;
    for (let at = 0; at + ENGINE_SAMPLES <= frame.length; at += ENGINE_SAMPLES) {
      const part = frame.subarray(at, at + ENGINE_SAMPLES);
      // The last engine with a verdict has seen the cleanest signal; any voiced part voices the frame.
      let partVerdict: boolean | null = null;
      for (const engine of this.opts.engines) partVerdict = engine.capture(part, delayMs) ?? partVerdict;
      if (partVerdict !== null) verdict = verdict === true || partVerdict;
    }
    this.opts.pauseGate?.process(frame);
    if (verdict === null) return null;
    this.sinceVoice = verdict ? 0 : this.sinceVoice + frame.length;
    return this.sinceVoice < (HANGOVER_MS * SAMPLE_RATE) / 1000;
  }

  playback(frame: Frame): void {
    if (this.closed) return;
    try {
      for (let at = 0; at + ENGINE_SAMPLES <= frame.length; at += ENGINE_SAMPLES) {
        const part = frame.subarray(at, at + ENGINE_SAMPLES);
        for (const engine of this.opts.engines) engine.playback(part);
      }
    } catch (err) {
      this.fail(err);
    }
  }

  /** An engine that throws ends the processing, not the call: frames go through untouched from here. */
  private fail(err: unknown): void {
    this.failure = (err as Error).message;
    this.close();
  }

  /** The echo path changed (another device): every engine forgets it. */
  reset(): void {
    if (this.closed) return;
    try {
      for (const engine of this.opts.engines) engine.reset();
    } catch (err) {
      this.fail(err);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const engine of this.opts.engines) {
      try {
        engine.close();
      } catch {
        // Closing is best effort: the others are still closed.
      }
    }
  }
}
