import { randomInt } from 'node:crypto';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { chooseDevice, createSink, createSource, getCodec } from '../audio';
import type { JitterBufferOptions } from '../media/jitter-buffer';
import type { AudioSink, AudioSource, Codec, CodecName } from '../audio/types';
import type { Candidate } from '../media/candidates';
import { oneLine } from '../audio/errors';
import { MediaError, type MediaErrorCode } from '../media/errors';
import { MediaSession } from '../media/media-session';
import type { Agreement, CodecDescription } from '../media/negotiation';
import { UdpLink } from '../media/udp-link';
import type { TurnOffer } from '../protocol';
import { CallFailedError } from './call-errors';
import { CallRelay } from './call-relay';
import type { FailureCause } from './call-reasons';
import { FailoverSink, FailoverSource, type DeviceChange } from './device-failover';
import { openVoice, voiceSettings, type OpenedVoice } from './call-voice';
import type { VoiceSettings } from './phone';
import type { VoiceProcessor } from '../audio/processing/voice-processor';

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
  /**
   * Connectivity checks may go to the peer's loopback addresses: only when this side is itself on
   * loopback (its server is), so a caller cannot aim a callee's checks at the callee's own host.
   */
  allowLoopback: boolean;
  /** Microphone processing and silence suppression asked for; unset stages follow the devices. */
  voice?: Partial<VoiceSettings>;
}

/** What a call's or room's microphone processing is: the stages that run, on which engines, and what could not. */
export interface VoiceInUse extends Omit<OpenedVoice, 'processor'> {
  dtx: boolean;
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

/** A device or media error as a call failure: the side that failed, in one line, the raw text kept. */
function deviceFailure(cause: FailureCause, err: unknown): CallFailedError {
  const e = err as Error & { detail?: string };
  return new CallFailedError({ reason: 'failed', cause, byMe: true, message: oneLine(e.message), detail: e.detail || e.message });
}

/** The call-end cause of a media error's code. */
export function causeOf(code: MediaErrorCode): FailureCause {
  return code === 'input_device' || code === 'output_device' ? code : 'no_path';
}

/**
 * A call's devices and media socket, opened before anyone is rung: a missing file, a folder
 * that can't be written or a device that won't open fails here, not after the other side has
 * picked up. `start` hands everything to a MediaSession; `release` gives back what was never
 * handed on.
 */
export class PreparedMedia {
  private handedOn = false;
  private released = false;
  /** The call's TURN allocation, once the server has offered a relay. */
  relay: CallRelay | null = null;
  /** The microphone processing, once the media has started. */
  voice: VoiceInUse | null = null;

  private constructor(
    readonly source: AudioSource,
    readonly sink: AudioSink,
    readonly link: UdpLink,
    readonly candidates: Candidate[],
  ) {}

  /** Opens the source, the sink and the UDP socket; rejects with CallFailedError (reason failed). */
  static async open(settings: MediaSettings, input: InputSpec, output: OutputSpec): Promise<PreparedMedia> {
    const source = await makeSource(input);
    const sink = await makeSink(output).catch(async (err) => {
      await source.stop();
      throw err;
    });
    let link: UdpLink;
    try {
      await source.open().catch((err) => Promise.reject(deviceFailure('input_device', err)));
      await sink.open().catch((err) => Promise.reject(deviceFailure('output_device', err)));
      link = await UdpLink.open({ host: settings.udpHost, port: settings.udpPort }).catch((err) =>
        Promise.reject(deviceFailure('no_path', err)),
      );
    } catch (err) {
      await Promise.allSettled([source.stop(), sink.close()]);
      throw err;
    }
    const host = link.candidates();
    return new PreparedMedia(source, sink, link, settings.candidates ? settings.candidates(host) : host);
  }

  /** Starts both directions of audio; a device that fails now rejects with CallFailedError. */
  async start(settings: MediaSettings, agreement: Agreement): Promise<MediaSession> {
    const { processor, dtx } = await this.openVoice(settings);
    const { source, sink, link } = this.take();
    const session = new MediaSession({
      voice: processor ?? undefined,
      dtx,
      link,
      agreement,
      codec: getCodec(agreement.codec.name),
      source,
      sink,
      bitrate: settings.bitrate,
      redundancy: settings.redundancy,
      jitter: settings.jitter,
      allowLoopback: settings.allowLoopback,
    });
    try {
      await session.start();
    } catch (err) {
      throw deviceFailure(err instanceof MediaError ? causeOf(err.code) : 'input_device', err);
    }
    return session;
  }

  /**
   * Opens the microphone processing the settings and devices call for (engines that are not
   * built here leave their stages off: `voice.missing` says which); it forgets the echo path
   * whenever a device fails over.
   */
  async openVoice(settings: MediaSettings): Promise<{ processor: VoiceProcessor | null; dtx: boolean }> {
    const asked = voiceSettings(settings.voice, this.source, this.sink);
    const { processor, ...rest } = await openVoice(asked, this);
    this.voice = { ...rest, dtx: asked.dtx };
    if (processor) this.onDevice(() => processor.reset());
    return { processor, dtx: asked.dtx };
  }

  /** Hands the devices and the socket to whoever runs the media now (a room's): release() no longer closes them. */
  take(): { source: AudioSource; sink: AudioSink; link: UdpLink } {
    this.handedOn = true;
    return { source: this.source, sink: this.sink, link: this.link };
  }

  /** Calls `listener` when a device fails over; returns what unsubscribes it. */
  onDevice(listener: (change: DeviceChange) => void): () => void {
    const wrappers = [this.source, this.sink].filter((d): d is FailoverSource | FailoverSink => d instanceof FailoverSource || d instanceof FailoverSink);
    for (const w of wrappers) w.on('device', listener);
    return () => wrappers.forEach((w) => w.off('device', listener));
  }

  /** Starts allocating the call's relay on the media socket (once; later offers are ignored). */
  startRelay(turn: TurnOffer): void {
    if (!this.relay && !this.released) this.relay = CallRelay.start(this.link, turn);
  }

  /** Closes whatever was not handed to a media session; safe to call more than once. */
  async release(): Promise<void> {
    this.released = true;
    this.relay?.close();
    if (this.handedOn) return;
    this.handedOn = true;
    this.link.close();
    await Promise.allSettled([this.source.stop(), this.sink.close()]);
  }
}

/**
 * Checks, before waiting for calls, what can be checked without holding a device: an input file
 * is read, an output file's folder is writable and a device named is there. Rejects with
 * CallFailedError (reason failed).
 */
export async function checkFiles(input: InputSpec, output: OutputSpec): Promise<void> {
  if (typeof input === 'string') await chooseDevice(input).catch((err) => Promise.reject(deviceFailure('input_device', err)));
  if (typeof output === 'string') await chooseDevice(output).catch((err) => Promise.reject(deviceFailure('output_device', err)));
  if (typeof input === 'string' && /\.wav$/i.test(input)) {
    const source = await makeSource(input);
    try {
      await source.open();
    } catch (err) {
      throw deviceFailure('input_device', err);
    } finally {
      await source.stop().catch(() => undefined);
    }
  }
  if (typeof output === 'string' && /\.wav$/i.test(output)) {
    const folder = path.dirname(path.resolve(output));
    try {
      await access(folder, constants.W_OK);
    } catch (err) {
      throw deviceFailure('output_device', new Error(`cannot write WAV file ${output}: ${(err as Error).message}`));
    }
  }
}

/** A mic spec becomes a microphone that fails over (device-failover.ts); other specs their source. */
async function makeSource(input: InputSpec): Promise<AudioSource> {
  if (typeof input !== 'string') return input;
  try {
    const choice = await chooseDevice(input);
    return choice ? new FailoverSource(choice) : createSource(input);
  } catch (err) {
    throw deviceFailure('input_device', err);
  }
}

/** A speaker spec becomes a speaker that fails over; other specs their sink. */
async function makeSink(output: OutputSpec): Promise<AudioSink> {
  if (typeof output !== 'string') return output;
  try {
    const choice = await chooseDevice(output);
    return choice ? new FailoverSink(choice) : createSink(output);
  } catch (err) {
    throw deviceFailure('output_device', err);
  }
}
