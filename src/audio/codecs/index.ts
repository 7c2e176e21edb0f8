import type { Codec, CodecName } from '../types';
import { createOpusCodec, type OpusBackend } from './opus';
import { pcmCodec } from './pcm';

export { createOpusCodec, DEFAULT_OPUS_BITRATE, OPUS_PAYLOAD_TYPE, type OpusBackend } from './opus';
export { pcmCodec, PCM_RATE } from './pcm';
export { FRAME_MS, checkFrameMs, type FrameMs } from './frame-sizes';
export { FadeRepeat } from './fade-repeat';

/** Set to "native" or "wasm" to force one Opus backend (for tests and troubleshooting). */
export const OPUS_BACKEND_ENV = 'PARLEY_OPUS_BACKEND';

let opus: { codec?: Codec; errors: string[] } | undefined;

function loadOpus(): { codec?: Codec; errors: string[] } {
  if (opus) return opus;
  const forced = process.env[OPUS_BACKEND_ENV];
  const order: OpusBackend[] = forced === 'wasm' ? ['wasm'] : forced === 'native' ? ['native'] : ['native', 'wasm'];
  const errors: string[] = [];
  for (const backend of order) {
    try {
      opus = { codec: createOpusCodec(backend), errors };
      return opus;
    } catch (err) {
      errors.push(`${backend}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  opus = { errors };
  return opus;
}

/** The codec by name; Opus prefers the native addon and falls back to WebAssembly. */
export function getCodec(name: CodecName): Codec {
  if (name === 'pcm') return pcmCodec;
  if (name === 'opus') {
    const { codec, errors } = loadOpus();
    if (codec) return codec;
    throw new Error(
      `Opus is unavailable (${errors.join('; ')}); install @discordjs/opus or opusscript, or use the pcm codec`,
    );
  }
  throw new Error(`unknown codec "${String(name)}" (known: opus, pcm)`);
}

/** Codec names usable on this machine, in order of preference. */
export function availableCodecs(): CodecName[] {
  return loadOpus().codec ? ['opus', 'pcm'] : ['pcm'];
}

export interface CodecReportEntry {
  name: CodecName;
  available: boolean;
  /** What encodes and decodes; both directions use the same backend. */
  backend?: string;
  problem?: string;
}

/** Which backend each codec uses, for `parley doctor`. */
export function codecReport(): CodecReportEntry[] {
  const { codec, errors } = loadOpus();
  return [
    codec
      ? { name: 'opus', available: true, backend: codec.backend, ...(errors.length ? { problem: errors.join('; ') } : {}) }
      : { name: 'opus', available: false, problem: `${errors.join('; ')}; install @discordjs/opus (or opusscript)` },
    { name: 'pcm', available: true, backend: pcmCodec.backend },
  ];
}
