import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { FrameClock } from '../audio/clock';
import { JitterBuffer, type JitterBufferOptions } from '../audio/jitter-buffer';
import { LevelMeter } from '../audio/level-meter';
import { frameSamples, type AudioDecoder, type AudioEncoder, type AudioSink, type AudioSource, type Codec, type Frame } from '../audio/types';
import { decodeRtp } from '../protocol/rtp';
import { classifyPacket } from './demux';
import type { Agreement } from './negotiation';
import { PeerPath } from './peer-path';
import { RtpReceiver } from './rtp-receiver';
import { RtpSender } from './rtp-sender';
import type { CallStats } from './stats';
import type { Address, UdpLink } from './udp-link';

export interface MediaSessionOptions {
  link: UdpLink;
  agreement: Agreement;
  codec: Codec;
  source: AudioSource;
  sink: AudioSink;
  bitrate?: number;
  /** Earlier frames repeated in each packet when RED is agreed (default: 2 for Opus, 1 for PCM). */
  redundancy?: number;
  jitter?: Partial<JitterBufferOptions>;
  /** Give up when no path to the peer answers within this time. */
  connectTimeoutMs?: number;
}

export interface MediaSessionEvents {
  /** The peer answered a connectivity check: media flows. */
  connected: [Address];
  /** A device failed or the peer could not be reached: the call cannot go on. */
  failed: [Error];
}

/**
 * Both directions of one call's audio:
 *   source → encoder → RTP (+RED) → UDP, and
 *   UDP → RTP → jitter buffer → decoder (+PLC) → playout clock → sink.
 * The playout clock starts on the first packet's arrival plus the buffer's initial delay,
 * so on a calm link a frame waits only the safety margin before it is played.
 */
export class MediaSession extends EventEmitter<MediaSessionEvents> {
  readonly frameMs: number;
  private readonly samples: number;
  /** One frame of silence, shared: muted input and idle playout need no new array per frame. */
  private readonly silence: Frame;
  private readonly encoder: AudioEncoder;
  private readonly decoder: AudioDecoder;
  private readonly sender: RtpSender;
  private readonly receiver: RtpReceiver;
  private readonly buffer: JitterBuffer<Buffer>;
  private readonly path: PeerPath;
  private readonly clock: FrameClock;
  private readonly inputMeter = new LevelMeter();
  private readonly outputMeter = new LevelMeter();
  private clockStart: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private state: 'idle' | 'running' | 'stopped' = 'idle';
  private foreign = 0;
  private played = 0;
  muted = false;

  constructor(private readonly opts: MediaSessionOptions) {
    super();
    const { agreement, codec } = opts;
    this.frameMs = agreement.codec.frameMs;
    this.samples = frameSamples(this.frameMs);
    this.silence = new Int16Array(this.samples);
    const timestampStep = (agreement.codec.clockRate * this.frameMs) / 1000;
    this.encoder = codec.createEncoder({ frameMs: this.frameMs, bitrate: opts.bitrate });
    this.decoder = codec.createDecoder({ frameMs: this.frameMs });
    this.sender = new RtpSender({
      payloadType: agreement.codec.payloadType,
      timestampStep,
      ssrc: agreement.localSsrc,
      red: agreement.red,
      redundancy: opts.redundancy ?? (codec.name === 'opus' ? 2 : 1),
    });
    this.buffer = new JitterBuffer<Buffer>({ frameMs: this.frameMs, ...opts.jitter });
    this.receiver = new RtpReceiver(
      { payloadType: agreement.codec.payloadType, red: agreement.red, timestampStep, clockRate: agreement.codec.clockRate },
      this.buffer,
    );
    this.path = new PeerPath(opts.link, agreement.remoteCandidates, agreement.localSsrc, agreement.remoteSsrc);
    this.clock = new FrameClock(this.frameMs, this.tick);
  }

  /** Opens the sink, then the source; rejects with the device's readable Error (nothing left open). */
  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error('media session already started');
    this.state = 'running';
    const { sink, source, link } = this.opts;
    sink.on('error', this.onDeviceError);
    source.on('error', this.onDeviceError);
    link.on('error', this.onDeviceError);
    link.on('packet', this.onPacket);
    this.path.once('selected', (a) => {
      clearTimeout(this.connectTimer);
      this.emit('connected', a);
    });
    this.path.start();
    const timeout = this.opts.connectTimeoutMs ?? 10_000;
    this.connectTimer = setTimeout(() => this.fail(new Error(`no media path to the peer within ${timeout / 1000} s`)), timeout);
    try {
      await sink.open();
      await source.start(this.samples, this.onFrame);
    } catch (err) {
      await this.stop();
      throw err;
    }
    if (this.state !== 'running') await source.stop().catch(() => undefined);
  }

  /** Stops both directions and closes the devices and the socket; safe to call twice. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    clearTimeout(this.connectTimer);
    clearTimeout(this.clockStart);
    this.clock.stop();
    this.path.stop();
    const { sink, source, link } = this.opts;
    link.off('packet', this.onPacket);
    link.close();
    await Promise.allSettled([source.stop(), sink.close()]);
    this.encoder.close();
    this.decoder.close();
  }

  get connected(): boolean {
    return this.path.address !== null;
  }

  stats(): CallStats {
    const rec = this.receiver.reception;
    const jb = this.buffer.stats();
    return {
      packetsSent: this.sender.packetsSent,
      packetsReceived: rec.packetsReceived,
      packetsLost: rec.lost,
      lossPercent: rec.expected ? (100 * rec.lost) / rec.expected : 0,
      packetsLate: jb.late,
      packetsDuplicate: rec.duplicates + jb.duplicate,
      bytesSent: this.sender.bytesSent,
      bytesReceived: this.receiver.bytesReceived,
      framesPlayed: this.played,
      framesRecovered: jb.recovered,
      framesConcealed: jb.concealed,
      framesStretched: jb.stretched,
      framesDropped: jb.dropped,
      jitterMs: rec.jitterMs,
      bufferDelayMs: jb.delayMs,
      targetDelayMs: jb.targetDelayMs,
      rttMs: this.path.rttMs,
      foreignDropped: this.foreign,
    };
  }

  /** Input (what is sent, before mute) and output (what is played) levels in dBFS RMS. */
  levels(): { input: number; output: number } {
    return { input: this.inputMeter.current.rms, output: this.outputMeter.current.rms };
  }

  private readonly onFrame = (frame: Frame): void => {
    if (this.state !== 'running') return;
    this.inputMeter.update(frame, this.frameMs);
    const to = this.path.address;
    if (!to) return;
    const payload = this.encoder.encode(this.muted ? this.silence : frame);
    this.opts.link.send(this.sender.packetize(payload), to);
  };

  private readonly onPacket = (buf: Buffer, from: Address): void => {
    if (!this.path.accepts(from)) {
      this.foreign++;
      return;
    }
    const kind = classifyPacket(buf);
    if (kind === 'rtcp') {
      if (!this.path.handleProbe(buf, from)) this.foreign++;
      return;
    }
    const packet = kind === 'rtp' ? decodeRtp(buf) : null;
    if (!packet || packet.ssrc !== this.opts.agreement.remoteSsrc) {
      this.foreign++;
      return;
    }
    const now = performance.now();
    this.receiver.receive(packet, buf.length, now);
    if (!this.clock.isRunning && this.clockStart === undefined && this.buffer.playing && this.state === 'running') {
      this.clockStart = setTimeout(() => this.clock.start(), this.buffer.initialDelayMs());
    }
  };

  private readonly tick = (): void => {
    const out = this.playout(performance.now());
    this.opts.sink.write(out);
    this.outputMeter.update(out, this.frameMs);
  };

  private playout(now: number): Frame {
    const p = this.buffer.pull(now);
    if (p.kind === 'idle') return this.silence;
    for (const d of p.discard) this.decoder.decode(d);
    if (p.advanceMs > 0) this.retime(this.frameMs - p.advanceMs);
    this.played++;
    return p.kind === 'frame' ? this.decoder.decode(p.payload) : this.decoder.conceal();
  }

  /** Restarts the playout clock with its next tick `inMs` from now instead of a period. */
  private retime(inMs: number): void {
    this.clock.stop();
    clearTimeout(this.clockStart);
    this.clockStart = setTimeout(() => {
      if (this.state === 'running') this.clock.start();
    }, inMs);
  }

  private readonly onDeviceError = (err: Error): void => {
    this.fail(err);
  };

  private fail(err: Error): void {
    if (this.state !== 'running') return;
    void this.stop().then(() => this.emit('failed', err));
  }
}
