import { randomInt } from 'node:crypto';
import { createSink, createSource, getCodec } from '../audio';
import type { JitterBufferOptions } from '../media/jitter-buffer';
import type { AudioSink, AudioSource, Codec, CodecName } from '../audio/types';
import type { Candidate } from '../media/candidates';
import { MediaSession } from '../media/media-session';
import type { Agreement, CodecDescription } from '../media/negotiation';
import { UdpLink } from '../media/udp-link';
import { CallFailedError } from './call-errors';

/** Everything a call needs to set up its media, taken from the phone's options. */
export interface MediaSettings {
  codecs: CodecName[];
  frameMs: 10 | 20 | 40;
  bitrate?: number;
  udpPort: number;
  udpHost: string;
  candidates?: (host: Candidate[]) => Candidate[];
  jitter?: Partial<JitterBufferOptions>;
  redundancy?: number;
}

export type InputSpec = string | AudioSource;
export type OutputSpec = string | AudioSink;

/**
 * The codecs this machine can run, in preference order, as offered. L16 frames are capped at
 * 20 ms: a 40 ms L16 frame (1280 bytes) cannot travel as an RFC 2198 block (10-bit length).
 */
export function localCodecs(settings: MediaSettings): CodecDescription[] {
  const out: CodecDescription[] = [];
  for (const name of settings.codecs) {
    let codec: Codec;
    try {
      codec = getCodec(name);
    } catch {
      continue;
    }
    const frameMs = name === 'pcm' ? (Math.min(settings.frameMs, 20) as 10 | 20) : settings.frameMs;
    out.push({ name, payloadType: codec.payloadType, clockRate: codec.clockRate, frameMs });
  }
  return out;
}

export function newSsrc(): number {
  return randomInt(0, 2 ** 32 - 1);
}

export async function openLink(settings: MediaSettings): Promise<{ link: UdpLink; candidates: Candidate[] }> {
  let link: UdpLink;
  try {
    link = await UdpLink.open({ host: settings.udpHost, port: settings.udpPort });
  } catch (err) {
    throw new CallFailedError('device', (err as Error).message);
  }
  const host = link.candidates();
  return { link, candidates: settings.candidates ? settings.candidates(host) : host };
}

/** Builds the devices from their specs now, so a bad spec fails before anyone's phone rings. */
export function makeDevices(input: InputSpec, output: OutputSpec): { source: AudioSource; sink: AudioSink } {
  try {
    return {
      source: typeof input === 'string' ? createSource(input) : input,
      sink: typeof output === 'string' ? createSink(output) : output,
    };
  } catch (err) {
    throw new CallFailedError('device', (err as Error).message);
  }
}

/** Starts the media; a device that will not open rejects with CallFailedError('device'), link closed. */
export async function startMedia(
  settings: MediaSettings,
  link: UdpLink,
  agreement: Agreement,
  devices: { source: AudioSource; sink: AudioSink },
): Promise<MediaSession> {
  const session = new MediaSession({
    link,
    agreement,
    codec: getCodec(agreement.codec.name),
    ...devices,
    bitrate: settings.bitrate,
    redundancy: settings.redundancy,
    jitter: settings.jitter,
  });
  try {
    await session.start();
  } catch (err) {
    throw new CallFailedError('device', (err as Error).message);
  }
  return session;
}
