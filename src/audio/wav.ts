/**
 * RIFF/WAVE reading (integer PCM 8/16/24/32-bit, IEEE float 32/64-bit, plain or
 * WAVE_FORMAT_EXTENSIBLE, 1–8 channels at 8–192 kHz) and 16-bit PCM writing.
 *
 * A header is checked before any audio is read or any memory sized from it: a file that claims
 * a 1 Hz rate (48,000 output samples for each one read) or hours of audio is refused with a
 * reason, never decoded into an out-of-memory crash. Files are read chunk by chunk, so only the
 * audio itself is ever loaded.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { AudioError } from './errors';
import { SAMPLE_RATE } from './types';
import { downmix, resample, toInt16 } from './resample';

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;
export const WAV_HEADER_BYTES = 44;

/** What a WAV file may be: anything outside is refused with the reason. */
export const WAV_LIMITS = {
  minRate: 8000,
  maxRate: 192000,
  maxChannels: 8,
  /** Longest playable audio: a source holds the whole file converted, ~5.8 MB a minute. */
  maxSeconds: 600,
  /** Chunks looked at before the audio: real files have a handful. */
  maxChunks: 64,
} as const;

export interface WavAudio {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  float: boolean;
  /** Interleaved samples in 16-bit units (-32768..32767), whatever the file's sample format. */
  samples: Float32Array;
}

interface WavFormat {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  float: boolean;
}

/** Reads `length` bytes at `offset` (fewer at the end of the file). */
type ReadAt = (offset: number, length: number) => Buffer;

/** Finds and checks the format and where the audio lies, reading only chunk headers. */
function parseLayout(read: ReadAt, size: number): { format: WavFormat; dataOffset: number; dataBytes: number } {
  const riff = read(0, 12);
  if (riff.length < 12 || riff.toString('ascii', 0, 4) !== 'RIFF' || riff.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a WAV file (no RIFF/WAVE header)');
  }
  let format: WavFormat | undefined;
  let off = 12;
  for (let chunks = 0; off + 8 <= size; chunks++) {
    if (chunks >= WAV_LIMITS.maxChunks) throw new Error(`more than ${WAV_LIMITS.maxChunks} chunks before the audio`);
    const head = read(off, 8);
    const id = head.toString('ascii', 0, 4);
    const chunkSize = head.readUInt32LE(4);
    const body = off + 8;
    if (id === 'fmt ') {
      format = parseFormat(read(body, Math.min(chunkSize, 40)), chunkSize);
    } else if (id === 'data') {
      if (!format) throw new Error('WAV data chunk before its fmt chunk');
      // A streamed writer may leave the size at 0 or 0xFFFFFFFF: take what the file holds.
      const dataBytes = chunkSize === 0 || body + chunkSize > size ? size - body : chunkSize;
      const frames = Math.floor(dataBytes / ((format.channels * format.bitsPerSample) / 8));
      const seconds = frames / format.sampleRate;
      if (seconds > WAV_LIMITS.maxSeconds) {
        throw new Error(`WAV audio is ${Math.round(seconds)} s long; at most ${WAV_LIMITS.maxSeconds} s can be played`);
      }
      return { format, dataOffset: body, dataBytes };
    }
    off = body + chunkSize + (chunkSize & 1);
  }
  throw new Error('WAV file has no data chunk');
}

function parseFormat(fmt: Buffer, chunkSize: number): WavFormat {
  if (chunkSize < 16 || fmt.length < 16) throw new Error('WAV fmt chunk is too short');
  let code = fmt.readUInt16LE(0);
  // The extensible format keeps the real format code at the head of its sub-format GUID.
  if (code === FORMAT_EXTENSIBLE) {
    if (fmt.length < 26) throw new Error('WAV extensible fmt chunk is too short');
    code = fmt.readUInt16LE(24);
  }
  const channels = fmt.readUInt16LE(2);
  const sampleRate = fmt.readUInt32LE(4);
  const blockAlign = fmt.readUInt16LE(12);
  const bits = fmt.readUInt16LE(14);
  if (code !== FORMAT_PCM && code !== FORMAT_FLOAT) throw new Error(`unsupported WAV format code ${code} (only PCM and float)`);
  const float = code === FORMAT_FLOAT;
  if (float ? bits !== 32 && bits !== 64 : ![8, 16, 24, 32].includes(bits)) {
    throw new Error(`unsupported WAV sample size ${bits} bits${float ? ' for float' : ''}`);
  }
  if (channels < 1 || channels > WAV_LIMITS.maxChannels) {
    throw new Error(`WAV channel count ${channels} is out of range (1–${WAV_LIMITS.maxChannels})`);
  }
  if (sampleRate < WAV_LIMITS.minRate || sampleRate > WAV_LIMITS.maxRate) {
    throw new Error(`WAV sample rate ${sampleRate} Hz is out of range (${WAV_LIMITS.minRate}–${WAV_LIMITS.maxRate} Hz)`);
  }
  if (blockAlign !== (channels * bits) / 8) {
    throw new Error(`WAV header is inconsistent: ${channels} channel(s) of ${bits} bits need ${(channels * bits) / 8}-byte blocks, not ${blockAlign}`);
  }
  return { sampleRate, channels, bitsPerSample: bits, float };
}

function decodeWith(read: ReadAt, size: number): WavAudio {
  const { format, dataOffset, dataBytes } = parseLayout(read, size);
  return { ...format, samples: readSamples(read(dataOffset, dataBytes), format) };
}

/** Decodes a whole WAV file held in memory; throws a readable Error for anything it refuses. */
export function decodeWav(buf: Buffer): WavAudio {
  return decodeWith((offset, length) => buf.subarray(offset, offset + length), buf.length);
}

function readSamples(data: Buffer, format: WavFormat): Float32Array {
  const bits = format.bitsPerSample;
  const bytes = bits / 8;
  const n = Math.floor(data.length / bytes);
  const out = new Float32Array(n);
  if (format.float) {
    for (let i = 0; i < n; i++) {
      const v = bits === 32 ? data.readFloatLE(i * 4) : data.readDoubleLE(i * 8);
      // NaN and infinities are not audio: silence rather than poison for the resampler.
      out[i] = Number.isFinite(v) ? v * 32768 : 0;
    }
    return out;
  }
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
      default:
        out[i] = data.readInt32LE(o) / 65536;
    }
  }
  return out;
}

/** Reads `length` bytes at `offset` of an open file (fewer at its end). */
function readerOf(fd: number): ReadAt {
  return (offset, length) => {
    const b = Buffer.alloc(length);
    return b.subarray(0, readSync(fd, b, 0, length, offset));
  };
}

/** Runs `use` on an open WAV file, reading only as much of it as the checks allow. */
function withFile<T>(path: string, use: (read: ReadAt, size: number) => T): T {
  const fd = openSync(path, 'r');
  try {
    return use(readerOf(fd), fstatSync(fd).size);
  } finally {
    closeSync(fd);
  }
}

/** Reads a WAV file from disk, only as much of it as the checks allow. */
export function readWavFile(path: string): WavAudio {
  return withFile(path, decodeWith);
}

/** The pipeline's samples of a WAV file, read a span at a time. */
export interface WavSamples {
  /** Samples in the file, 48 kHz mono. */
  readonly length: number;
  /** Copies samples from `at` into `into`; returns how many (fewer at the end). */
  read(into: Int16Array, at: number): number;
  close(): void;
}

/**
 * Opens a WAV file in the pipeline's format: 48 kHz mono 16-bit. A file already in that format is
 * read from disk as it plays, so a long file costs no memory; others are converted whole, one float
 * copy per step they need. Failure is an `input_device` AudioError naming the file and the reason.
 */
export function openWavMono48k(path: string): WavSamples {
  const fd = wavFailure(path, () => openSync(path, 'r'));
  let keepOpen = false;
  try {
    const read = readerOf(fd);
    const { format, dataOffset, dataBytes } = wavFailure(path, () => parseLayout(read, fstatSync(fd).size));
    if (!format.float && format.bitsPerSample === 16 && format.channels === 1 && format.sampleRate === SAMPLE_RATE) {
      keepOpen = true;
      return fileSamples(fd, dataOffset, dataBytes >> 1);
    }
    return memorySamples(wavFailure(path, () => convert(read(dataOffset, dataBytes), format)));
  } finally {
    if (!keepOpen) closeSync(fd);
  }
}

/** Reads a whole WAV file in the pipeline's format (see openWavMono48k). */
export function readWavMono48k(path: string): Int16Array {
  const wav = openWavMono48k(path);
  try {
    const out = new Int16Array(wav.length);
    wav.read(out, 0);
    return out;
  } finally {
    wav.close();
  }
}

function convert(data: Buffer, format: WavFormat): Int16Array {
  let samples = readSamples(data, format);
  if (format.channels !== 1) samples = downmix(samples, format.channels);
  if (format.sampleRate !== SAMPLE_RATE) samples = resample(samples, format.sampleRate, SAMPLE_RATE);
  return toInt16(samples);
}

function memorySamples(audio: Int16Array): WavSamples {
  return {
    length: audio.length,
    read(into, at) {
      const n = Math.max(0, Math.min(into.length, audio.length - at));
      into.set(audio.subarray(at, at + n));
      return n;
    },
    close() {},
  };
}

/** 16-bit little-endian samples read straight from the file into the caller's array. */
function fileSamples(fd: number, dataOffset: number, length: number): WavSamples {
  let open = true;
  return {
    length,
    read(into, at) {
      const want = Math.max(0, Math.min(into.length, length - at));
      if (!open || want === 0) return 0;
      const got = readSync(fd, new Uint8Array(into.buffer, into.byteOffset, want * 2), 0, want * 2, dataOffset + at * 2) >> 1;
      if (!LITTLE_ENDIAN) {
        const view = new DataView(into.buffer, into.byteOffset);
        for (let i = 0; i < got; i++) into[i] = view.getInt16(i * 2, true);
      }
      return got;
    },
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** Runs `step`, turning what it throws into an `input_device` AudioError that names the file. */
function wavFailure<T>(path: string, step: () => T): T {
  try {
    return step();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file (ENOENT)' : e.code === 'EACCES' ? 'permission denied (EACCES)' : e.code === 'EISDIR' ? 'it is a directory (EISDIR)' : e.message;
    throw new AudioError('input_device', `cannot read WAV file ${path}: ${why}`, { detail: e.message, cause: err });
  }
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
