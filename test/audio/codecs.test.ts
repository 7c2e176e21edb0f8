import { createOpusCodec, getCodec, codecReport, pcmCodec, frameSamples, signals, type Codec } from '../../src/audio';
import { bestLag, concatFrames, dominantFrequency, rms, toneShare } from '../helpers/audio';

function roundTrip(codec: Codec, input: Int16Array, frameMs: number, lose: (i: number) => boolean = () => false) {
  const n = frameSamples(frameMs);
  const enc = codec.createEncoder({ frameMs });
  const dec = codec.createDecoder({ frameMs });
  const out: Int16Array[] = [];
  for (let i = 0; i + n <= input.length; i += n) {
    const packet = enc.encode(input.subarray(i, i + n));
    out.push(lose(i / n) ? dec.conceal() : dec.decode(packet));
  }
  enc.close();
  dec.close();
  return concatFrames(out);
}

describe.each([
  ['native', () => createOpusCodec('native')],
  ['wasm', () => createOpusCodec('wasm')],
])('opus (%s)', (_name, make) => {
  const codec = make();

  it('reports its wire identity and backend', () => {
    expect(codec.payloadType).toBe(111);
    expect(codec.clockRate).toBe(48000);
    expect(codec.backend).toMatch(_name === 'native' ? /@discordjs\/opus/ : /opusscript/);
  });

  it.each([10, 20, 40])('round-trips speech-like audio at %i ms frames', (frameMs) => {
    const input = signals.speechLike(7, 1000);
    const output = roundTrip(codec, input, frameMs);
    expect(output.length).toBe(input.length);
    // Opus delays by its look-ahead (6.5 ms = 312 samples at 48 kHz) plus resampling inside.
    const { lag, correlation } = bestLag(input, output, 960);
    expect(lag).toBeGreaterThan(100);
    expect(lag).toBeLessThan(700);
    expect(correlation).toBeGreaterThan(0.8);
  });

  it('keeps a tone at its frequency', () => {
    const output = roundTrip(codec, signals.tone(1000, 500, 0.5), 20);
    expect(Math.abs(dominantFrequency(output.subarray(4800)) - 1000)).toBeLessThanOrEqual(10);
  });

  it('stays near the configured bitrate', () => {
    const frameMs = 20;
    const n = frameSamples(frameMs);
    const enc = codec.createEncoder({ frameMs, bitrate: 16000 });
    const input = signals.speechLike(3, 2000);
    let bytes = 0;
    for (let i = 0; i + n <= input.length; i += n) bytes += enc.encode(input.subarray(i, i + n)).length;
    enc.close();
    const kbps = (bytes * 8) / 2 / 1000;
    expect(kbps).toBeGreaterThan(8);
    expect(kbps).toBeLessThan(24);
  });

  it('conceals one frame at a time, continuing the signal, and fades a long gap', () => {
    const input = signals.tone(440, 2000, 0.5);
    const lost = new Set([50, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79]);
    const output = roundTrip(codec, input, 20, (i) => lost.has(i));
    expect(output.length).toBe(input.length);
    const frame = (i: number) => output.subarray(i * 960, (i + 1) * 960);
    // A single loss: PLC carries the tone on at about its level.
    expect(toneShare(frame(50), 440)).toBeGreaterThan(0.5);
    expect(rms(frame(50))).toBeGreaterThan(0.3 * rms(frame(49)));
    // Twenty lost frames in a row: libopus fades the concealment out.
    expect(rms(frame(79))).toBeLessThan(0.3 * rms(frame(59)));
    // And the stream recovers once packets arrive again.
    expect(toneShare(frame(85), 440)).toBeGreaterThan(0.8);
  });

  it('conceals silence before any packet and survives a corrupt packet', () => {
    const dec = codec.createDecoder({ frameMs: 20 });
    expect(rms(dec.conceal())).toBe(0);
    expect(dec.decode(Buffer.from([0xff, 0xff, 0xff])).length).toBe(960);
    dec.close();
  });

  it('rejects unsupported frame sizes and bitrates', () => {
    expect(() => codec.createEncoder({ frameMs: 15 })).toThrow(/10, 20, 40/);
    expect(() => codec.createEncoder({ frameMs: 20, bitrate: 100 })).toThrow(/bitrate/);
  });
});

describe('pcm (L16 16 kHz)', () => {
  it('has the wire identity of the design', () => {
    expect(pcmCodec).toMatchObject({ name: 'pcm', payloadType: 96, clockRate: 16000 });
  });

  it('puts 16 kHz big-endian samples on the wire', () => {
    const enc = pcmCodec.createEncoder({ frameMs: 20 });
    // Warm the resampler with a constant so its delay line is full.
    const frame = new Int16Array(960).fill(1000);
    enc.encode(frame);
    const payload = enc.encode(frame);
    expect(payload.length).toBe(640);
    expect(Math.abs(payload.readInt16BE(320) - 1000)).toBeLessThanOrEqual(1);
    expect(payload.readInt16LE(320)).not.toBe(1000);
  });

  it('round-trips speech-band audio nearly exactly', () => {
    const input = signals.speechLike(11, 1000);
    const output = roundTrip(pcmCodec, input, 20);
    expect(output.length).toBe(input.length);
    const { lag, correlation } = bestLag(input, output, 400);
    expect(lag).toBeLessThan(200);
    expect(correlation).toBeGreaterThan(0.995);
  });

  it('conceals by repeating with a fade', () => {
    const input = signals.tone(500, 1000, 0.5);
    const output = roundTrip(pcmCodec, input, 20, (i) => i >= 20 && i < 25);
    const frame = (i: number) => output.subarray(i * 960, (i + 1) * 960);
    expect(rms(frame(20))).toBeGreaterThan(0.5 * rms(frame(19)));
    expect(rms(frame(22))).toBeLessThan(0.1 * rms(frame(19)));
    expect(toneShare(frame(30), 500)).toBeGreaterThan(0.9);
  });
});

describe('getCodec / codecReport', () => {
  it('gives the codecs by name and rejects unknown names', () => {
    expect(getCodec('pcm')).toBe(pcmCodec);
    expect(getCodec('opus').name).toBe('opus');
    expect(() => getCodec('mp3' as never)).toThrow(/unknown codec "mp3"/);
  });

  it('reports a backend for each codec', () => {
    const report = codecReport();
    expect(report.map((r) => r.name)).toEqual(['opus', 'pcm']);
    expect(report[0]).toMatchObject({ available: true, backend: expect.stringMatching(/opus/) });
  });
});
