import { EventEmitter } from 'node:events';
import { FrameClock } from '../audio/clock';
import { LevelMeter } from '../audio/level-meter';
import { realTimers, type Timers } from '../audio/timers';
import { frameSamples, type AudioDecoder, type AudioSink, type AudioSource, type Codec, type Frame } from '../audio/types';
import { classifyPacket } from './demux';
import { decodeBye, encodeBye } from '../protocol/rtcp-bye';
import { signedByeReason, verifiedByeReason } from './crypto/bye-tag';
import { SessionIo } from './session-io';
import { MediaError } from './errors';
import type { JitterBufferOptions } from './jitter-buffer';
import type { Agreement } from './negotiation';
import type { Candidate } from './candidates';
import { IceAgent, type Base, type IceAgentOptions } from './ice/agent';
import type { RelayAllocation } from './turn/relay-allocation';
import type { PathInfo } from './ice/pairs';
import { ReceivePath } from './receive-path';
import { SendPath } from './send-path';
import type { CallStats } from './stats';
import type { FrameProcessor } from '../audio/processing/frame-processor';
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
  /** Give up when no address of the peer answers within this time (default 5 s). */
  connectTimeoutMs?: number;
  /**
   * Check the peer's loopback addresses: set it when this side is on loopback itself (its
   * signaling server is). Default: only when the media socket is bound to loopback.
   */
  allowLoopback?: boolean;
  /** Check the peer's link-local addresses. Default: only when a local interface is link-local. */
  allowLinkLocal?: boolean;
  /** Finer tuning of the connectivity checks (how many addresses, pacing, back-off, consent). */
  path?: Pick<IceAgentOptions, 'maxCandidates' | 'paceMs' | 'initialRtoMs' | 'maxRtoMs' | 'consentIntervalMs' | 'consentTimeoutMs'>;
  /** Time and timers for the playout clock and the checks; the real ones unless given. */
  timers?: Timers;
  /**
   * Microphone processing: each captured frame (not muted) goes through `capture` before it is
   * metered or encoded, each frame handed to the sink goes to `playback`; closed with the session.
   */
  voice?: FrameProcessor;
  /**
   * Leave silent frames out (discontinuous transmission) when comfort noise is agreed: the
   * verdict is `voice`'s, or a built-in VAD's when it gives none (default false).
   */
  dtx?: boolean;
}

export interface MediaSessionEvents {
  /** A candidate pair answered both ways: audio flows on it. */
  connected: [PathInfo];
  /** The pair carrying the audio changed (a better one answered, or the old one stopped answering). */
  path: [PathInfo];
  /** The path stopped answering; checks run again (a new local address may help: trickle it). */
  disconnected: [string];
  /** The peer's first audio arrived (once a session): when a caller hears the callee. */
  audio: [];
  /** The peer said BYE over the media path (its reason: `hangup`, `failed:<cause>`). */
  bye: [string];
  /** The session stopped: asked to, or because of the failure given (`failed` follows). */
  stopped: [MediaError | undefined];
  /** A device failed (`input_device`, `output_device`), the peer could not be reached (`no_path`) or the socket failed. */
  failed: [MediaError];
}

type SessionState = 'idle' | 'running' | 'stopped';

/** Copies of a BYE, and the time between them. */
const BYE_COPIES = 3;
const BYE_SPACING_MS = 20;

/**
 * Both directions of one call's audio:
 *   source → encoder → RTP (+RED) → UDP, and
 *   UDP → RTP → jitter buffer → decoder (+PLC) → playout clock → sink.
 * The playout clock starts on the first packet's arrival plus the buffer's initial delay,
 * so on a calm link a frame waits only the safety margin before it is played. The delay moves
 * by stretching decoded audio (`Playout`); only a phase excess below a frame (frames arriving
 * that long before their tick) is taken off by asking the clock, the owner of playout time,
 * for a sooner tick.
 * Whatever the peer sends, the sink gets exactly one frame of the agreed size per tick:
 * payloads that are not one agreed frame are dropped at the door and counted.
 * Every RTP packet is sealed with the call's keys (SRTP AEAD_AES_128_GCM) on the way out and
 * opened on the way in; one that does not authenticate, or replays one already taken, is
 * counted and dropped before anything else reads it.
 */
export class MediaSession extends EventEmitter<MediaSessionEvents> {
  readonly frameMs: number;
  private readonly samples: number;
  private readonly decoder: AudioDecoder;
  private readonly sendPath: SendPath;
  private readonly receivePath: ReceivePath;
  private readonly ice: IceAgent;
  /** The devices and the socket: their failures, opening and closing. */
  private readonly io: SessionIo;
  private readonly clock: FrameClock;
  private readonly timers: Timers;
  private readonly inputMeter = new LevelMeter();
  private readonly outputMeter = new LevelMeter();
  private state: SessionState = 'idle';
  private connectedOnce = false;
  private failure: MediaError | undefined;
  private foreign = 0;
  private relay: RelayAllocation | null = null;
  /** When the peer's first audio packet was accepted (the timers' clock); null until then. */
  firstAudioAt: number | null = null;
  muted = false;

  constructor(private readonly opts: MediaSessionOptions) {
    super();
    const { agreement, codec } = opts;
    this.timers = opts.timers ?? realTimers;
    this.io = new SessionIo(opts, (err) => this.fail(err), this.onPacket);
    this.frameMs = agreement.codec.frameMs;
    this.samples = frameSamples(this.frameMs);
    this.sendPath = new SendPath({
      encoder: codec.createEncoder({ frameMs: this.frameMs, bitrate: opts.bitrate }),
      key: { ...agreement.keys.send, ssrc: agreement.localSsrc },
      payloadType: agreement.codec.payloadType,
      timestampStep: (agreement.codec.clockRate * this.frameMs) / 1000,
      red: agreement.red,
      redundancy: opts.redundancy ?? (codec.name === 'opus' ? 2 : 1),
      cn: agreement.cn ?? false,
      frameMs: this.frameMs,
      dtx: opts.dtx,
    });
    this.decoder = codec.createDecoder({ frameMs: this.frameMs });
    this.receivePath = new ReceivePath({
      key: agreement.keys.receive,
      decoder: this.decoder,
      payloadType: agreement.codec.payloadType,
      red: agreement.red,
      cn: agreement.cn ?? false,
      clockRate: agreement.codec.clockRate,
      frameMs: this.frameMs,
      jitter: opts.jitter,
      retime: (ms) => this.clock.sooner(ms),
    });
    this.ice = new IceAgent({
      ...opts.path,
      link: opts.link,
      local: agreement.localIce,
      remote: agreement.remoteIce,
      controlling: agreement.controlling,
      localCandidates: agreement.localCandidates,
      remoteCandidates: agreement.remoteCandidates,
      allowLoopback: opts.allowLoopback,
      allowLinkLocal: opts.allowLinkLocal,
      timeoutMs: opts.connectTimeoutMs,
      timers: this.timers,
    });
    this.clock = new FrameClock(this.frameMs, this.tick, { timers: this.timers });
  }

  /**
   * Starts the checks, opens the sink and starts the source (each opened already or not);
   * rejects with a MediaError (`input_device`, `output_device`), leaving nothing open.
   */
  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error('media session already started');
    this.state = 'running';
    this.io.listen();
    this.ice.on('path', this.onPath);
    this.ice.on('disconnected', this.onDisconnected);
    this.ice.once('failed', (why) => this.fail(new MediaError('no_path', why)));
    this.ice.start();
    await this.io.open(this.samples, this.onFrame, { stop: () => this.stop(), running: () => this.state === 'running' });
  }

  /** Stops both directions and closes the devices and the socket; safe to call twice. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.emit('stopped', this.failure);
    this.clock.stop();
    this.ice.stop();
    this.ice.off('path', this.onPath);
    this.ice.off('disconnected', this.onDisconnected);
    this.io.deafen();
    this.relay?.off('packet', this.onRelayed);
    // Before the socket closes: the relay's goodbye (a zero-lifetime refresh) goes out on it.
    this.relay?.close();
    await this.io.close();
    this.sendPath.close();
    this.decoder.close();
    this.opts.voice?.close();
  }

  get connected(): boolean {
    return this.connectedOnce;
  }

  /**
   * Says BYE to the peer over the media path (RFC 3550 §6.6), three times 20 ms apart since UDP
   * may drop one; resolves when the last has gone. Its reason carries a tag under this side's
   * media key (crypto/bye-tag.ts): the peer takes it only with that tag, from this side's proven
   * address, with this side's SSRC.
   */
  async bye(reason: string): Promise<void> {
    const { localSsrc, keys } = this.opts.agreement;
    const packet = encodeBye(localSsrc, signedByeReason(keys.send, localSsrc, reason));
    for (let i = 0; i < BYE_COPIES && this.state === 'running'; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, BYE_SPACING_MS));
      this.ice.sendMedia(packet);
    }
  }

  /** The pair carrying the audio now; null while checks run. */
  get path(): PathInfo | null {
    return this.ice.path;
  }

  /** A candidate the peer trickled; false when it is not checked (not allowed, or over the limit). */
  addRemoteCandidate(c: Candidate): boolean {
    return this.ice.addRemoteCandidate(c);
  }

  /** A new address of this side's (a NAT mapping learned after the offer). */
  addLocalCandidate(c: Candidate): void {
    this.ice.addLocalCandidate(c);
  }

  /**
   * This side's TURN allocation, now or later: its pairs are checked too, and the session owns
   * it from here (closed with the session; closed at once when the session has ended).
   */
  addRelay(relay: RelayAllocation): void {
    if (this.state === 'stopped' || this.relay) return void relay.close();
    this.relay = relay;
    relay.on('packet', this.onRelayed);
    this.ice.addRelay(relay);
  }

  stats(): CallStats {
    const r = this.receivePath.stats();
    return {
      packetsSent: this.sendPath.packetsSent,
      packetsReceived: r.received,
      packetsLost: r.lost,
      lossPercent: r.lossPercent,
      packetsLate: r.late,
      packetsDuplicate: r.duplicate,
      packetsMalformed: r.malformed,
      // The RTP bytes before sealing (no SRTP tag), as calls have always counted them.
      bytesSent: this.sendPath.rtpBytesSent,
      bytesReceived: r.bytesReceived,
      framesPlayed: r.framesPlayed,
      framesRecovered: r.recovered,
      concealedMs: r.concealedMs,
      insertedMs: r.insertedMs,
      removedMs: r.removedMs,
      framesRejected: r.rejected,
      jitterMs: r.jitterMs,
      bufferDelayMs: r.bufferDelayMs,
      targetDelayMs: r.targetDelayMs,
      rttMs: this.ice.rttMs,
      deviceInputMs: this.opts.source.latencyMs?.() ?? null,
      deviceOutputMs: this.opts.sink.latencyMs?.() ?? null,
      deviceOutputUnderruns: this.opts.sink.underruns?.() ?? null,
      foreignDropped: this.foreign,
      decryptFailed: r.decryptFailed,
      replayed: r.replayed,
      framesSuppressed: this.sendPath.framesSuppressed,
      cnPacketsSent: this.sendPath.cnPacketsSent,
      cnPacketsReceived: r.cnPacketsReceived,
      comfortNoiseMs: r.comfortNoiseMs,
    };
  }

  /**
   * Whether this side is sending voice (the last captured frame was voice and not muted; without
   * a verdict, whether it was sent) and whether the peer's stream plays speech now (not comfort
   * noise, not nothing).
   */
  activity(): { sending: boolean; receiving: boolean } {
    return { sending: this.state === 'running' && !this.muted && this.sendPath.voice, receiving: this.receivePath.speaking };
  }

  /** Input (what is sent, before mute) and output (what is played) levels in dBFS RMS. */
  levels(): { input: number; output: number } {
    return { input: this.inputMeter.current.rms, output: this.outputMeter.current.rms };
  }

  private readonly onFrame = (frame: Frame): void => {
    if (this.state !== 'running') return;
    // Muted: no processing and no encoding; only comfort noise saying "silence", when agreed.
    const verdict = this.muted ? null : (this.opts.voice?.capture(frame) ?? null);
    this.inputMeter.update(frame, this.frameMs);
    if (!this.ice.ready) return;
    const packet = this.sendPath.outgoing(frame, verdict, this.muted);
    if (packet) this.ice.sendMedia(packet);
  };

  private readonly onPacket = (buf: Buffer, from: Address): void => this.receive(buf, from, 'direct');
  private readonly onRelayed = (buf: Buffer, from: Address): void => this.receive(buf, from, 'relay');

  /** A datagram from the peer's side, straight to the socket or unwrapped by the relay. */
  private receive(buf: Buffer, from: Address, base: Base): void {
    const kind = classifyPacket(buf);
    if (kind === 'stun') {
      if (!this.ice.handleStun(buf, from, base)) this.foreign++;
      return;
    }
    if (!this.ice.accepts(from, base)) {
      this.foreign++;
      return;
    }
    if (kind === 'rtcp') {
      const { remoteSsrc, keys } = this.opts.agreement;
      const bye = decodeBye(buf);
      const reason = bye && bye.ssrc === remoteSsrc ? verifiedByeReason(keys.receive, remoteSsrc, bye.reason) : null;
      if (reason !== null) this.emit('bye', reason);
      else this.foreign++;
      return;
    }
    if (kind !== 'rtp' || buf.length < 12 || buf.readUInt32BE(8) !== this.opts.agreement.remoteSsrc) {
      this.foreign++;
      return;
    }
    // Authenticated, fresh and readable, or dropped here (and counted): nothing forged goes further.
    if (!this.receivePath.accept(buf, this.timers.now())) return;
    if (this.firstAudioAt === null) {
      this.firstAudioAt = this.timers.now();
      this.emit('audio');
    }
    if (!this.clock.isRunning && this.receivePath.playing && this.state === 'running') this.clock.start(this.receivePath.initialDelayMs());
  }

  private readonly tick = (): void => {
    const out = this.receivePath.tick(this.timers.now());
    this.opts.sink.write(out);
    this.opts.voice?.playback(out);
    this.outputMeter.update(out, this.frameMs);
  };

  private readonly onPath = (path: PathInfo): void => {
    if (this.connectedOnce) return void this.emit('path', path);
    this.connectedOnce = true;
    this.emit('connected', path);
  };

  private readonly onDisconnected = (why: string): void => {
    this.emit('disconnected', why);
  };


  private fail(err: MediaError): void {
    if (this.state !== 'running') return;
    this.failure = err;
    void this.stop().then(() => this.emit('failed', err));
  }
}
