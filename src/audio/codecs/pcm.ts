/**
 * L16 (RFC 3551 §4.5.11): 16-bit big-endian samples at 16 kHz mono, payload type 96 (dynamic).
 * Half the bandwidth of 48 kHz L16 with the speech band intact; the always-available fallback.
 */
import { frameSamples, type AudioDecoder, type AudioEncoder, type Codec, type Frame } from '../types';
import { Resampler, toInt16 } from '../resample';
import { FadeRepeat } from './fade-repeat';
import { checkFrameMs } from './frame-sizes';

export const PCM_RATE = 16000;
const INTERNAL_RATE = 48000;

class PcmEncoder implements AudioEncoder {
  private readonly down = new Resampler(INTERNAL_RATE, PCM_RATE);

  encode(frame: Frame): Buffer {
    const narrow = toInt16(this.down.process(frame));
    const out = Buffer.alloc(narrow.length * 2);
    for (let i = 0; i < narrow.length; i++) out.writeInt16BE(narrow[i], i * 2);
    return out;
  }

  close(): void {}
}

class PcmDecoder implements AudioDecoder {
  private readonly up = new Resampler(PCM_RATE, INTERNAL_RATE);
  private readonly repeat = new FadeRepeat();
  private readonly wireSamples: number;

  constructor(frameMs: number) {
    this.wireSamples = frameSamples(frameMs) / (INTERNAL_RATE / PCM_RATE);
  }

  /** Exactly one frame of 16-bit samples at the wire rate. */
  fits(payload: Buffer): boolean {
    return payload.length === this.wireSamples * 2;
  }

  /** Exactly one frame, always: a payload of another length is concealed, never played at its own. */
  decode(payload: Buffer): Frame {
    if (!this.fits(payload)) return this.conceal();
    const narrow = new Int16Array(this.wireSamples);
    for (let i = 0; i < narrow.length; i++) narrow[i] = payload.readInt16BE(i * 2);
    this.repeat.good(narrow);
    return toInt16(this.up.process(narrow));
  }

  /** Fade-repeat at the wire rate, then through the same upsampler so its state stays continuous. */
  conceal(): Frame {
    return toInt16(this.up.process(this.repeat.conceal(this.wireSamples)));
  }

  close(): void {}
}

export const pcmCodec: Codec = {
  name: 'pcm',
  payloadType: 96,
  clockRate: PCM_RATE,
  backend: 'built-in (L16 16 kHz)',
  createEncoder({ frameMs }) {
    checkFrameMs('pcm', frameMs);
    return new PcmEncoder();
  },
  createDecoder({ frameMs }) {
    checkFrameMs('pcm', frameMs);
    return new PcmDecoder(frameMs);
  },
};
