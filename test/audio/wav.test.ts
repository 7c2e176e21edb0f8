import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AudioError, WAV_LIMITS, createSource, decodeWav, encodeWav, readWavMono48k, WavFileSink, signals } from '../../src/audio';
import { bestLag, dominantFrequency } from '../helpers/audio';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'parley-wav-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A WAV of any sample format, written by hand so the reader is checked against the spec. */
function wavBytes(
  opts: { rate: number; channels: number; bits: number; float?: boolean; extensible?: boolean; blockAlign?: number },
  data: Buffer,
): Buffer {
  const { rate, channels, bits, float = false, extensible = false } = opts;
  const fmtSize = extensible ? 40 : 16;
  const fmt = Buffer.alloc(8 + fmtSize);
  fmt.write('fmt ', 0, 'ascii');
  fmt.writeUInt32LE(fmtSize, 4);
  fmt.writeUInt16LE(extensible ? 0xfffe : float ? 3 : 1, 8);
  fmt.writeUInt16LE(channels, 10);
  fmt.writeUInt32LE(rate, 12);
  fmt.writeUInt32LE(Math.floor((rate * channels * bits) / 8) % 2 ** 32, 16);
  fmt.writeUInt16LE(opts.blockAlign ?? Math.floor((channels * bits) / 8), 20);
  fmt.writeUInt16LE(bits, 22);
  if (extensible) {
    fmt.writeUInt16LE(22, 24);
    fmt.writeUInt16LE(bits, 26);
    fmt.writeUInt16LE(float ? 3 : 1, 32);
  }
  const list = Buffer.from('LIST\x04\x00\x00\x00INFO', 'latin1'); // an unknown chunk to skip
  const dataHead = Buffer.alloc(8);
  dataHead.write('data', 0, 'ascii');
  dataHead.writeUInt32LE(data.length, 4);
  const body = Buffer.concat([Buffer.from('WAVE'), fmt, list, dataHead, data]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'ascii');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

function encodeSamples(values: number[], bits: number, float: boolean): Buffer {
  const bytes = bits / 8;
  const b = Buffer.alloc(values.length * bytes);
  values.forEach((v, i) => {
    const x = v / 32768; // -1..1
    if (float) b.writeFloatLE(x, i * 4);
    else if (bits === 8) b[i] = Math.round(x * 127) + 128;
    else if (bits === 16) b.writeInt16LE(Math.round(x * 32767), i * 2);
    else if (bits === 24) b.writeIntLE(Math.round(x * 8388607), i * 3, 3);
    else b.writeInt32LE(Math.round(x * 2147483647), i * 4);
  });
  return b;
}

describe('WAV', () => {
  it('round-trips 16-bit mono 48 kHz exactly', () => {
    const samples = signals.speechLike(2, 300);
    const decoded = decodeWav(encodeWav(samples));
    expect(decoded).toMatchObject({ sampleRate: 48000, channels: 1, bitsPerSample: 16, float: false });
    expect(Array.from(decoded.samples)).toEqual(Array.from(samples));
  });

  it.each([
    [8, false, false],
    [16, false, true],
    [24, false, false],
    [32, false, false],
    [32, true, false],
    [32, true, true],
  ])('reads %i-bit (float %s, extensible %s) samples', (bits, float, extensible) => {
    const values = [0, 16384, -16384, 32000, -32000];
    const decoded = decodeWav(wavBytes({ rate: 8000, channels: 1, bits, float, extensible }, encodeSamples(values, bits, float)));
    expect(decoded.sampleRate).toBe(8000);
    const tolerance = bits === 8 ? 260 : 2;
    decoded.samples.forEach((v, i) => expect(Math.abs(v - values[i])).toBeLessThanOrEqual(tolerance));
  });

  it('converts a stereo 44.1 kHz file to 48 kHz mono, keeping its content', () => {
    const left = Float32Array.from({ length: 44100 }, (_, i) => 12000 * Math.sin((2 * Math.PI * 1000 * i) / 44100));
    const inter = new Int16Array(2 * left.length);
    left.forEach((v, i) => {
      inter[2 * i] = Math.round(v);
      inter[2 * i + 1] = Math.round(v);
    });
    const path = join(dir, 'stereo.wav');
    writeFileSync(path, encodeWav(inter, 44100, 2));
    const mono = readWavMono48k(path);
    expect(mono.length).toBe(48000);
    expect(Math.abs(dominantFrequency(mono, 48000, 500, 2000, 2) - 1000)).toBeLessThanOrEqual(2);
  });

  it('explains what is wrong with a bad file', () => {
    const path = join(dir, 'bad.wav');
    writeFileSync(path, 'hello, not audio');
    expect(() => readWavMono48k(path)).toThrow(/cannot read WAV file .*bad\.wav: not a WAV file/);
    expect(() => readWavMono48k(join(dir, 'missing.wav'))).toThrow(/ENOENT/);
    expect(() => decodeWav(wavBytes({ rate: 8000, channels: 1, bits: 12 }, Buffer.alloc(6)))).toThrow(/12 bits/);
  });

  // A 1 Hz rate made the reader resample each sample into 48,000: a client given such a file
  // ran out of memory. Every field a header could lie in is checked before any audio is read.
  it.each<[string, Parameters<typeof wavBytes>[0], RegExp]>([
    ['a 1 Hz rate', { rate: 1, channels: 1, bits: 16 }, /WAV sample rate 1 Hz is out of range \(8000–192000 Hz\)/],
    ['a 4 GHz rate', { rate: 0xffffffff, channels: 1, bits: 16 }, /WAV sample rate 4294967295 Hz is out of range/],
    ['no channels', { rate: 8000, channels: 0, bits: 16 }, /WAV channel count 0 is out of range \(1–8\)/],
    ['65535 channels', { rate: 8000, channels: 65535, bits: 16, blockAlign: 2 }, /WAV channel count 65535 is out of range/],
    ['0-bit samples', { rate: 8000, channels: 1, bits: 0 }, /unsupported WAV sample size 0 bits/],
    ['16-bit float', { rate: 8000, channels: 1, bits: 16, float: true }, /unsupported WAV sample size 16 bits for float/],
    ['a block size that disagrees', { rate: 8000, channels: 2, bits: 16, blockAlign: 1 }, /WAV header is inconsistent: 2 channel\(s\) of 16 bits need 4-byte blocks, not 1/],
  ])('refuses a header with %s, with the reason', (_what, fmt, reason) => {
    expect(() => decodeWav(wavBytes(fmt, Buffer.alloc(64)))).toThrow(reason);
  });

  it('refuses a file with more audio than a source may hold, before decoding it', () => {
    const seconds = WAV_LIMITS.maxSeconds + 1;
    const path = join(dir, 'long.wav');
    writeFileSync(path, wavBytes({ rate: 8000, channels: 1, bits: 8 }, Buffer.alloc(8000 * seconds, 128)));
    expect(() => readWavMono48k(path)).toThrow(new RegExp(`WAV audio is ${seconds} s long; at most ${WAV_LIMITS.maxSeconds} s can be played`));
  });

  it('refuses a truncated fmt chunk and a header-only file', () => {
    const riff = (body: Buffer) => Buffer.concat([Buffer.from('RIFF'), Buffer.from([body.length + 4, 0, 0, 0]), Buffer.from('WAVE'), body]);
    const shortFmt = Buffer.concat([Buffer.from('fmt '), Buffer.from([8, 0, 0, 0]), Buffer.alloc(8)]);
    expect(() => decodeWav(riff(shortFmt))).toThrow(/WAV fmt chunk is too short/);
    expect(() => decodeWav(riff(Buffer.alloc(0)))).toThrow(/WAV file has no data chunk/);
    expect(() => decodeWav(Buffer.from('RIFF'))).toThrow(/not a WAV file/);
  });

  it('a WAV source with a bad header fails at open with a one-line input_device error', async () => {
    const path = join(dir, 'one-hertz.wav');
    writeFileSync(path, wavBytes({ rate: 1, channels: 1, bits: 16 }, Buffer.alloc(200_000)));
    const source = createSource(path);
    const err = await source.open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AudioError);
    expect(err).toMatchObject({
      code: 'input_device',
      message: `cannot read WAV file ${path}: WAV sample rate 1 Hz is out of range (8000–192000 Hz)`,
    });
    await source.stop();
  });

  it('writes a file that is valid while open and exact when closed', async () => {
    const path = join(dir, 'out.wav');
    const sink = new WavFileSink(path);
    await sink.open();
    const input = signals.chirp(200, 4000, 3000);
    for (let i = 0; i < input.length; i += 960) sink.write(input.subarray(i, i + 960));
    // Before close the header has been refreshed at least up to the last second.
    const header = readFileSync(path);
    expect(header.readUInt32LE(40)).toBeGreaterThanOrEqual(2 * 96000);
    expect(header.readUInt32LE(4)).toBe(36 + header.readUInt32LE(40));
    await sink.close();
    const whole = decodeWav(readFileSync(path));
    expect(whole.samples.length).toBe(input.length);
    expect(bestLag(input, whole.samples, 0).correlation).toBeCloseTo(1, 6);
  });

  it("reports an unwritable path on open, in one line, with the system's words kept as detail", async () => {
    const path = join(dir, 'no', 'such', 'dir.wav');
    const err = await new WavFileSink(path).open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AudioError);
    expect(err).toMatchObject({ code: 'output_device', message: `cannot write WAV file ${path}: no such directory (ENOENT)` });
    expect((err as AudioError).detail).toMatch(/ENOENT: no such file or directory, open/);
  });

  it('open() creates the file once; closing without a frame leaves a valid empty WAV', async () => {
    const path = join(dir, 'empty.wav');
    const sink = new WavFileSink(path);
    await sink.open();
    sink.write(new Int16Array(960));
    // A second open (the call starting a sink opened before dialling) keeps what is written.
    await sink.open();
    sink.write(new Int16Array(960));
    await sink.close();
    expect(decodeWav(readFileSync(path)).samples.length).toBe(1920);
    const unused = new WavFileSink(join(dir, 'unused.wav'));
    await unused.open();
    await unused.close();
    expect(decodeWav(readFileSync(join(dir, 'unused.wav'))).samples.length).toBe(0);
  });
});
