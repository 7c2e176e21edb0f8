/**
 * RIFF/WAVE reading (integer PCM 8/16/24/32-bit, IEEE float 32/64-bit, plain or
 * WAVE_FORMAT_EXTENSIBLE, any rate and channel count) and 16-bit PCM writing.
 */
import { readFileSync } from 'node:fs';
import { SAMPLE_RATE } from './types';
import { downmix, resample, toInt16 } from './resample';

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;
export const WAV_HEADER_BYTES = 44;

export interface WavAudio {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  float: boolean;
  /** Interleaved samples in 16-bit units (-32768..32767), whatever the file's sample format. */
  samples: Float32Array;
}

export function decodeWav(buf: Buffer): WavAudio {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a WAV file (no RIFF/WAVE header)');
  }
  let fmt: { format: number; channels: number; sampleRate: number; bits: number } | undefined;
  let off = 12;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      let format = buf.readUInt16LE(body);
      // The extensible format keeps the real format code at the head of its sub-format GUID.
      if (format === FORMAT_EXTENSIBLE && size >= 26) format = buf.readUInt16LE(body + 24);
      fmt = {
        format,
        channels: buf.readUInt16LE(body + 2),
        sampleRate: buf.readUInt32LE(body + 4),
        bits: buf.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!fmt) throw new Error('WAV data chunk before its fmt chunk');
      // A streamed writer may leave the size at 0 or 0xFFFFFFFF: take what the file holds.
      const end = size === 0 || body + size > buf.length ? buf.length : body + size;
      return { ...describe(fmt), samples: readSamples(buf.subarray(body, end), fmt.format, fmt.bits) };
    }
    off = body + size + (size & 1);
  }
  throw new Error('WAV file has no data chunk');
}

function describe(fmt: { format: number; channels: number; sampleRate: number; bits: number }) {
  if (fmt.channels < 1 || fmt.sampleRate < 1) throw new Error('WAV header has no channels or no rate');
  return { sampleRate: fmt.sampleRate, channels: fmt.channels, bitsPerSample: fmt.bits, float: fmt.format === FORMAT_FLOAT };
}

function readSamples(data: Buffer, format: number, bits: number): Float32Array {
  const bytes = bits / 8;
  const n = Math.floor(data.length / bytes);
  const out = new Float32Array(n);
  if (format === FORMAT_FLOAT && (bits === 32 || bits === 64)) {
    for (let i = 0; i < n; i++) {
      out[i] = (bits === 32 ? data.readFloatLE(i * 4) : data.readDoubleLE(i * 8)) * 32768;
    }
    return out;
  }
  if (format !== FORMAT_PCM) throw new Error(`unsupported WAV format code ${format} (only PCM and float)`);
  for (let i = 0; i < n; i++) {
    const o = i * bytes;
    switch (bits) {
      case 8:
        out[i] = (data[o] - 128) * 256;
        break;
      case 16:
        out[i] = data.readInt16LE(o);
        break;
      case 24:
        out[i] = data.readIntLE(o, 3) / 256;
        break;
      case 32:
        out[i] = data.readInt32LE(o) / 65536;
        break;
      default:
        throw new Error(`unsupported WAV sample size ${bits} bits`);
    }
  }
  return out;
}

/** Reads a WAV file and converts it to the pipeline's format: 48 kHz mono 16-bit. */
export function readWavMono48k(path: string): Int16Array {
  let wav: WavAudio;
  try {
    wav = decodeWav(readFileSync(path));
  } catch (err) {
    throw new Error(`cannot read WAV file ${path}: ${(err as Error).message}`);
  }
  return toInt16(resample(downmix(wav.samples, wav.channels), wav.sampleRate, SAMPLE_RATE));
}

/** The 44-byte canonical header for 16-bit PCM. */
export function wavHeader(dataBytes: number, sampleRate = SAMPLE_RATE, channels = 1): Buffer {
  const h = Buffer.alloc(WAV_HEADER_BYTES);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(FORMAT_PCM, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

/** On a little-endian host samples already have their wire layout: one copy, no per-sample work. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Little-endian bytes of 16-bit samples (a copy), independent of the host's byte order. */
export function int16ToLE(samples: Int16Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
  const b = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) b.writeInt16LE(samples[i], i * 2);
  return b;
}

export function leToInt16(bytes: Buffer): Int16Array {
  const out = new Int16Array(bytes.length >> 1);
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes.subarray(0, out.length * 2));
  else for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16LE(i * 2);
  return out;
}

/** A whole 16-bit WAV file in memory (interleaved samples if channels > 1). */
export function encodeWav(samples: Int16Array, sampleRate = SAMPLE_RATE, channels = 1): Buffer {
  return Buffer.concat([wavHeader(samples.length * 2, sampleRate, channels), int16ToLE(samples)]);
}
