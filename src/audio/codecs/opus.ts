/**
 * Opus (RFC 6716) at 48 kHz mono, VOIP application, payload type 111 (RFC 7587).
 *
 * Two backends behind one small interface: @discordjs/opus (native libopus) and opusscript
 * (libopus compiled to WebAssembly) for machines where the addon could not be built.
 *
 * Concealment uses libopus's own PLC, one frame at a time. Neither binding exposes
 * opus_decode(NULL, ...) with a frame size (an empty packet conceals 120 ms at once), but
 * libopus treats a frame of length ≤ 1 as lost and conceals just the duration its TOC byte
 * names. So conceal() decodes the last packet's TOC byte alone, with its frame-count code set
 * to 0 (one frame): exactly one frame of real Opus PLC, with the decoder state kept right for
 * the next packet.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { frameSamples, SAMPLE_RATE, type AudioDecoder, type AudioEncoder, type Codec, type Frame } from '../types';
import { int16ToLE, leToInt16 } from '../wav';
import { checkFrameMs } from './frame-sizes';
import { opusPacketSamples } from './opus-packet';

export const OPUS_PAYLOAD_TYPE = 111;
export const DEFAULT_OPUS_BITRATE = 24000;
const OPUS_SET_APPLICATION = 4000;
const OPUS_APPLICATION_VOIP = 2048;
/** The TOC byte's low two bits say how many frames the packet holds; 0 means one. */
const TOC_CODE_MASK = 0x03;

export type OpusBackend = 'native' | 'wasm';

/** One libopus encoder or decoder state, whichever binding provides it. */
interface OpusState {
  encode(pcm: Buffer, samples: number): Buffer;
  decode(packet: Buffer): Buffer;
  setBitrate(bitrate: number): void;
  close(): void;
}

interface Binding {
  backend: string;
  create(): OpusState;
}

/**
 * @discordjs/opus's compiled addon, loaded by its path. The package's own entry finds the same
 * file through node-pre-gyp, which loads ~8 MB of JavaScript into every client to do it; its
 * entry is still the fallback when the file is not where the package builds it.
 */
function discordOpus(): typeof import('@discordjs/opus') {
  const prebuild = path.join(path.dirname(require.resolve('@discordjs/opus/package.json')), 'prebuild');
  // The package's binary.module_path: {node_abi}-napi-v{napi}-{platform}-{arch}-{libc}-{libc_version}.
  const prefix = `node-v${process.versions.modules}-napi-v3-${process.platform}-${process.arch}-`;
  const dir = existsSync(prebuild) ? readdirSync(prebuild).find((d) => d.startsWith(prefix) && existsSync(path.join(prebuild, d, 'opus.node'))) : undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(dir ? path.join(prebuild, dir, 'opus.node') : '@discordjs/opus');
}

function nativeBinding(): Binding {
  const { OpusEncoder } = discordOpus();
  return {
    backend: '@discordjs/opus (native libopus)',
    create() {
      const s = new OpusEncoder(SAMPLE_RATE, 1);
      s.applyEncoderCTL(OPUS_SET_APPLICATION, OPUS_APPLICATION_VOIP);
      return {
        encode: (pcm) => s.encode(pcm),
        decode: (packet) => s.decode(packet),
        setBitrate: (b) => s.setBitrate(b),
        close: () => {},
      };
    },
  };
}

function wasmBinding(): Binding {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const OpusScript = require('opusscript') as typeof import('opusscript');
  return {
    backend: 'opusscript (libopus in WebAssembly)',
    create() {
      const s = new OpusScript(SAMPLE_RATE, 1, OpusScript.Application.VOIP);
      return {
        encode: (pcm, samples) => s.encode(pcm, samples),
        decode: (packet) => s.decode(packet),
        setBitrate: (b) => s.setBitrate(b),
        close: () => s.delete(),
      };
    },
  };
}

/** Loads the binding for a backend; throws the loader's error if it is not installed or built. */
export function loadOpusBinding(backend: OpusBackend): Binding {
  return backend === 'native' ? nativeBinding() : wasmBinding();
}

class OpusFrameEncoder implements AudioEncoder {
  private readonly state: OpusState;

  constructor(binding: Binding, private readonly samples: number, bitrate: number) {
    this.state = binding.create();
    this.state.setBitrate(bitrate);
  }

  encode(frame: Frame): Buffer {
    if (frame.length !== this.samples) {
      throw new Error(`opus encoder expects ${this.samples}-sample frames, got ${frame.length}`);
    }
    return this.state.encode(int16ToLE(frame), this.samples);
  }

  close(): void {
    this.state.close();
  }
}

class OpusFrameDecoder implements AudioDecoder {
  private readonly state: OpusState;
  private lastToc: number | undefined;

  constructor(binding: Binding, private readonly samples: number) {
    this.state = binding.create();
  }

  /** One packet of exactly the agreed duration, framed within Opus's size limits. */
  fits(payload: Buffer): boolean {
    return opusPacketSamples(payload) === this.samples;
  }

  /**
   * Exactly one frame, always: a packet that does not fit, or that libopus rejects (corrupt),
   * is concealed rather than thrown or played at its own length; the call goes on.
   */
  decode(payload: Buffer): Frame {
    if (!this.fits(payload)) return this.conceal();
    let pcm: Buffer;
    try {
      pcm = this.state.decode(payload);
    } catch {
      return this.conceal();
    }
    if (pcm.length !== this.samples * 2) return this.conceal();
    this.lastToc = payload[0];
    return leToInt16(pcm);
  }

  conceal(): Frame {
    const out = new Int16Array(this.samples);
    if (this.lastToc === undefined) return out;
    const lost = Buffer.from([this.lastToc & ~TOC_CODE_MASK]);
    // One TOC-only decode conceals one Opus frame (≤ 20 ms in CELT mode): repeat to fill ours.
    for (let filled = 0; filled < this.samples; ) {
      const part = leToInt16(this.state.decode(lost));
      if (part.length === 0) break;
      out.set(part.subarray(0, this.samples - filled), filled);
      filled += part.length;
    }
    return out;
  }

  close(): void {
    this.state.close();
  }
}

export function createOpusCodec(backend: OpusBackend): Codec {
  const binding = loadOpusBinding(backend);
  return {
    name: 'opus',
    payloadType: OPUS_PAYLOAD_TYPE,
    clockRate: SAMPLE_RATE,
    backend: binding.backend,
    createEncoder({ frameMs, bitrate = DEFAULT_OPUS_BITRATE }) {
      checkFrameMs('opus', frameMs);
      if (!(bitrate >= 6000 && bitrate <= 510000)) throw new Error(`opus bitrate must be 6000..510000, got ${bitrate}`);
      return new OpusFrameEncoder(binding, frameSamples(frameMs), bitrate);
    },
    createDecoder({ frameMs }) {
      checkFrameMs('opus', frameMs);
      return new OpusFrameDecoder(binding, frameSamples(frameMs));
    },
  };
}
