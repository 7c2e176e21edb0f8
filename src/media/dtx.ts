import { Vad } from '../audio/processing/vad';
import type { Frame } from '../audio/types';
import { CN_SILENCE_LEVEL, encodeComfortNoise, type ComfortNoise } from '../protocol/comfort-noise';
import { NoiseAnalyzer } from './comfort-noise';

/** A CN update this often while silence goes on. */
const CN_UPDATE_MS = 400;
/** Or sooner, when the background's level moves by more than this. */
const CN_LEVEL_STEP_DB = 3;
/** While muted: a "silence" CN this often, so the receiver knows the stream is alive. */
const MUTED_KEEPALIVE_MS = 1000;
const MUTED_NOISE: ComfortNoise = { level: CN_SILENCE_LEVEL, reflection: [] };

/** What to do with one captured frame. */
export type DtxDecision =
  /** Encode and send it. */
  | { send: true }
  /** Skip it; send `cn` (an RFC 3389 payload) in its place when not null. */
  | { send: false; cn: Buffer | null };

const SEND: DtxDecision = { send: true };
const SKIP: DtxDecision = { send: false, cn: null };

export interface DtxOptions {
  frameMs: number;
  /** Leave silent frames out (only when `cn` is true too). */
  dtx: boolean;
  /** Comfort noise is agreed: silence is described, not just left out. */
  cn: boolean;
}

/**
 * The send side's silence policy, shared by calls and rooms. Speaking: every frame goes. With
 * DTX on and comfort noise agreed, a frame judged silent is left out: the first of a silence sends
 * a CN packet describing the background (level and spectral shape, from the silent frames
 * only), then an update every ~400 ms or when the level moves by more than 3 dB. Muted: nothing
 * is encoded; with CN a "silence" packet on muting and one a second after that as keep-alive,
 * without it nothing at all. The frame verdict is the caller's (voice processing), or this
 * policy's own VAD when the caller has none.
 */
export class Dtx {
  private readonly vad = new Vad();
  private readonly analyzer = new NoiseAnalyzer();
  private readonly updateFrames: number;
  private readonly keepaliveFrames: number;
  /** Frames since the last CN packet; -1 while speech (or nothing) was sent last. */
  private sinceCn = -1;
  private lastLevelDb = 0;
  private wasMuted = false;
  /** The last frame's verdict (voice, and not muted). */
  voice = false;

  constructor(private readonly opts: DtxOptions) {
    this.updateFrames = Math.max(1, Math.round(CN_UPDATE_MS / opts.frameMs));
    this.keepaliveFrames = Math.max(1, Math.round(MUTED_KEEPALIVE_MS / opts.frameMs));
  }

  /** Whether silent frames are left out at all. */
  get active(): boolean {
    return this.opts.dtx && this.opts.cn;
  }

  /** A frame captured while muted (never encoded). */
  muted(): DtxDecision {
    this.voice = false;
    const first = !this.wasMuted;
    this.wasMuted = true;
    if (!this.opts.cn) return SKIP;
    if (first || this.sinceCn < 0 || ++this.sinceCn >= this.keepaliveFrames) {
      this.sinceCn = 0;
      return { send: false, cn: encodeComfortNoise(MUTED_NOISE) };
    }
    return SKIP;
  }

  /**
   * A frame captured while not muted, already processed, with the processing's verdict (null:
   * none). Without DTX every frame is sent and only `voice` is kept up to date.
   */
  frame(frame: Frame, verdict: boolean | null): DtxDecision {
    const unmuting = this.wasMuted;
    this.wasMuted = false;
    if (!this.active) {
      this.voice = verdict ?? true;
      return SEND;
    }
    const voice = verdict ?? this.vad.process(frame);
    this.voice = voice;
    if (voice) {
      this.sinceCn = -1;
      return SEND;
    }
    if (this.sinceCn < 0 || unmuting) {
      this.analyzer.begin(frame);
      return this.comfortNoise();
    }
    this.analyzer.add(frame);
    this.sinceCn++;
    const level = this.analyzer.levelDb;
    const moved = Number.isFinite(level) !== Number.isFinite(this.lastLevelDb) || Math.abs(level - this.lastLevelDb) > CN_LEVEL_STEP_DB;
    if (this.sinceCn >= this.updateFrames || moved) return this.comfortNoise();
    return SKIP;
  }

  private comfortNoise(): DtxDecision {
    this.sinceCn = 0;
    this.lastLevelDb = this.analyzer.levelDb;
    return { send: false, cn: encodeComfortNoise(this.analyzer.current()) };
  }
}
