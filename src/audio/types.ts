import type { EventEmitter } from 'node:events';

/**
 * The audio pipeline runs at one internal format: 48 kHz, mono, signed 16-bit.
 * Sources resample into it, sinks take it, codecs convert at their own boundary.
 */
export const SAMPLE_RATE = 48000;
export type Frame = Int16Array;

export function frameSamples(frameMs: number): number {
  return (SAMPLE_RATE * frameMs) / 1000;
}

/**
 * Where audio comes from (microphone, WAV file, tone). Emits 'error' (an `input_device`
 * AudioError) when the device dies mid-call and 'end' when a non-looping file is exhausted. A
 * source paces itself in real time: one frame every frame period.
 */
export interface AudioSource extends EventEmitter {
  readonly description: string;
  /** Capture delay the device reports, in ms, where the backend can tell (PulseAudio). */
  latencyMs?(): number | undefined;
  /**
   * Validates and opens the input (a WAV file read and checked, the recorder started) without
   * fixing a frame size; idempotent. Rejects with an `input_device` AudioError.
   */
  open(): Promise<void>;
  /** Starts delivering frames of `samples` samples, opening first if need be. */
  start(samples: number, onFrame: (frame: Frame) => void): Promise<void>;
  /** Stops and releases the device, whether started, only opened, or neither. */
  stop(): Promise<void>;
}

/** Where audio goes (speaker, WAV file, null). Emits 'error' (an `output_device` AudioError) when the device dies. */
export interface AudioSink extends EventEmitter {
  readonly description: string;
  /** Playback delay the device reports (its buffer and what waits for it), in ms, where the backend can tell. */
  latencyMs?(): number | undefined;
  /** Times playback ran dry since open (a gap was heard), where the backend can tell. */
  underruns?(): number | undefined;
  /** Opens the output (a WAV file is created); idempotent. Rejects with an `output_device` AudioError. */
  open(): Promise<void>;
  /** Called once per frame period by the playout clock. */
  write(frame: Frame): void;
  /** Releases the output, whether written to, only opened, or neither. */
  close(): Promise<void>;
}

export type CodecName = 'opus' | 'pcm';

export interface AudioEncoder {
  encode(frame: Frame): Buffer;
  close(): void;
}

export interface AudioDecoder {
  /**
   * Whether `payload` holds exactly one frame of the agreed duration: anything else (oversize,
   * another duration) must be dropped before it reaches decode().
   */
  fits(payload: Buffer): boolean;
  /** Decodes one frame's payload into exactly `frameSamples` samples at SAMPLE_RATE. */
  decode(payload: Buffer): Frame;
  /** One frame of concealment for a frame that never arrived (PLC). */
  conceal(): Frame;
  close(): void;
}

export interface CodecInfo {
  name: CodecName;
  /** RTP payload type and clock rate on the wire (RFC 7587: opus is 111/48000; L16 here is 96/16000). */
  payloadType: number;
  clockRate: number;
  /** Which implementation is in use, e.g. "@discordjs/opus (native libopus)" or "opusscript (wasm)". */
  backend: string;
}

export interface Codec extends CodecInfo {
  createEncoder(opts: { frameMs: number; bitrate?: number }): AudioEncoder;
  createDecoder(opts: { frameMs: number }): AudioDecoder;
}
