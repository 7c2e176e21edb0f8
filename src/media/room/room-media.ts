import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { FrameClock } from '../../audio/clock';
import { getCodec } from '../../audio/codecs';
import { LevelMeter } from '../../audio/level-meter';
import { realTimers, type Timers } from '../../audio/timers';
import { frameSamples, type AudioSink, type AudioSource, type Codec, type CodecName, type Frame } from '../../audio/types';
import type { ForwardOffer } from '../../protocol/rooms';
import type { SenderKey } from '../crypto/sender-keys';
import { classifyPacket } from '../demux';
import { SessionIo } from '../session-io';
import { MediaError } from '../errors';
import type { JitterBufferOptions } from '../jitter-buffer';
import { CN_PAYLOAD_TYPE, RED_PAYLOAD_TYPE } from '../negotiation';
import type { FrameProcessor } from '../../audio/processing/frame-processor';
import { addressKey, candidatePriority } from '../candidates';
import type { Address, UdpLink } from '../udp-link';
import { ForwarderLink } from './forwarder-link';
import { MeshPaths, type MeshPairState, type MeshPathsOptions } from './mesh-paths';
import { Mixer } from './mixer';
import type { ReceiveStats } from '../receive-path';
import { SendPath } from '../send-path';
import { SenderStream, type TalkingOptions } from './sender-stream';

export interface RoomCodec {
  name: CodecName;
  payloadType: number;
  clockRate: number;
  frameMs: 10 | 20 | 40;
  /** RFC 2198 redundancy, with payload type RED_PAYLOAD_TYPE, as the room's offer settled. */
  red: boolean;
  /** RFC 3389 comfort noise, with payload type CN_PAYLOAD_TYPE, as the room's offer settled (the terms' `cn`). */
  cn?: boolean;
}

/** How the room's media travels: each member to each other (`mesh`), or through the server's forwarder. */
export type RoomTopology = 'mesh' | 'forward';

export interface RoomMediaOptions {
  /** The room's one socket (registered with the forwarder, shared by the mesh's agents); the room owns it from start() (closed by stop()). */
  link: UdpLink;
  /**
   * The server's IPv4 address (resolved: datagrams are matched on it) and the room's forward
   * port, with this member's credentials there; both absent when the server runs no forwarder.
   */
  server?: { address: string; port: number };
  forward?: Pick<ForwardOffer, 'username' | 'password'>;
  /** Where media goes at first (default forward; always mesh without a forwarder). */
  topology?: RoomTopology;
  /** What the mesh's paths need (required for mesh): this member's name, candidates, and how to signal a member. */
  mesh?: Omit<MeshPathsOptions, 'link' | 'timers'>;
  codec: RoomCodec;
  /** This member's own sender key: what its packets are sealed with, and their SSRC. */
  send: SenderKey;
  source: AudioSource;
  sink: AudioSink;
  bitrate?: number;
  /** Earlier frames repeated in each packet with RED (default 2 for Opus, 1 for PCM). */
  redundancy?: number;
  jitter?: Partial<JitterBufferOptions>;
  timers?: Timers;
  /** How often the forwarder registration is refreshed (default 10 s). */
  keepaliveMs?: number;
  /** Give up when the forwarder does not answer the first registration within this (default 10 s). */
  registerTimeoutMs?: number;
  /** Most members heard at once (default 32): keys beyond it are refused. */
  maxSenders?: number;
  talking?: TalkingOptions;
  /** The codec implementation; getCodec(codec.name) unless given. */
  implementation?: Codec;
  /** Microphone processing: `capture` on each own frame (not muted), `playback` on each mix handed to the sink; closed with the room. */
  voice?: FrameProcessor;
  /** Leave silent frames out when the room's terms have comfort noise (default false): as a call's `dtx`. */
  dtx?: boolean;
}

export interface RoomMediaEvents {
  /** The forwarder took this member's registration: the address it sees (again if that changes). */
  registered: [Address];
  /** A member started or stopped talking (its level crossed the threshold, with a hang time). */
  talking: [string, boolean];
  /** A member's first authenticated packet (again after a rekey). */
  audio: [string];
  /** A mesh pair's state changed (`failed`: this member then sends through the forwarder, if there is one). */
  pair: [string, MeshPairState];
  /** A mesh pair failed and there is no forwarder to fall back on: that member does not hear this one. */
  unreachable: [string];
  failed: [MediaError];
  stopped: [MediaError | undefined];
}

export interface MemberView {
  name: string;
  /** Smoothed level of what is played of the member, dBFS RMS. */
  level: number;
  talking: boolean;
  /** Muted locally (not mixed). */
  muted: boolean;
}

export interface RoomStats {
  /** Packets sealed (one a frame), and datagrams put on the wire (one a frame through the forwarder, one a connected member in mesh). */
  sent: { packets: number; bytes: number };
  uploaded: { packets: number; bytes: number };
  topology: RoomTopology;
  /** Each mesh pair's state (empty in forward), and signals that were not one. */
  pairs: Record<string, MeshPairState>;
  malformedSignals: number;
  /** Datagrams from anyone but the forwarder and the members' proven addresses, dropped unread. */
  foreign: number;
  /** RTP from the forwarder with an SSRC no member's key has: dropped. */
  unknownSsrc: number;
  /** Mix ticks so far, and the limiter's gain now (1 unless loud streams are being held down). */
  ticks: number;
  limiterGain: number;
  /** Each member's stream, since its current key. */
  members: Record<string, ReceiveStats>;
  /** Own frames not sent because they were silent (DTX), and comfort-noise packets sent. */
  framesSuppressed: number;
  cnPacketsSent: number;
}

type State = 'idle' | 'running' | 'stopped';

/** A member as this side knows it: its stream, and the one it replaces until the new key is heard. */
interface Member {
  stream: SenderStream;
  previous: SenderStream | null;
  /** What the last `talking` event said. */
  talking: boolean;
}

/**
 * A room's media on one member's side: one stream sent, sealed once with this member's sender
 * key, to the forwarder only; the forwarder copies it to every other member. What comes back is
 * demultiplexed by SSRC to each member's own stream (its key, jitter buffer, decoder); one clock
 * ticks the mix: every stream plays its frame for the tick (silence before it starts and after
 * it pauses), the mixer sums those not muted here, and the sink gets exactly one frame per tick.
 *
 * A packet is checked against the one key its SSRC names, so a member holding the others' keys
 * (to open them) still cannot speak as one of them: its packets would fail to authenticate.
 * Each stream keeps its own delay: one clock cannot take up every stream's phase, so a stream
 * may play up to a frame later than its own clock would have played it.
 */
export class RoomMedia extends EventEmitter<RoomMediaEvents> {
  readonly frameMs: number;
  private readonly samples: number;
  private readonly codec: Codec;
  private readonly sendPath: SendPath;
  private readonly red: { payloadType: number } | false;
  private readonly timers: Timers;
  /** The devices and the socket: their failures, opening and closing. */
  private readonly io: SessionIo;
  private readonly server: Address | null;
  private readonly forwarder: ForwarderLink | null;
  private topologyNow: RoomTopology;
  private mesh: MeshPaths | null = null;
  /** The other members (mesh pairs are made for them when the topology is mesh). */
  private readonly peers = new Set<string>();
  private readonly uploaded = { packets: 0, bytes: 0 };
  private malformedSignals = 0;
  private readonly clock: FrameClock;
  private readonly mixer: Mixer;
  private readonly maxSenders: number;
  private readonly inputMeter = new LevelMeter();
  private readonly outputMeter = new LevelMeter();
  private readonly roster = new Map<string, Member>();
  private readonly bySsrc = new Map<number, SenderStream>();
  private readonly mixList: Frame[] = [];
  private state: State = 'idle';
  private failure: MediaError | undefined;
  private foreign = 0;
  private unknownSsrc = 0;
  /**
   * Own microphone muted: nothing is processed or encoded; with comfort noise a "silence" packet
   * on muting and a keep-alive a second, so the others' streams play it as silence, not loss.
   */
  mutedMic = false;

  constructor(private readonly opts: RoomMediaOptions) {
    super();
    const { codec } = opts;
    this.timers = opts.timers ?? realTimers;
    this.io = new SessionIo(opts, (err) => this.fail(err), this.onPacket);
    this.frameMs = codec.frameMs;
    this.samples = frameSamples(this.frameMs);
    this.codec = opts.implementation ?? getCodec(codec.name);
    this.red = codec.red ? { payloadType: RED_PAYLOAD_TYPE } : false;
    this.sendPath = new SendPath({
      encoder: this.codec.createEncoder({ frameMs: this.frameMs, bitrate: opts.bitrate }),
      key: opts.send,
      payloadType: codec.payloadType,
      timestampStep: (codec.clockRate * this.frameMs) / 1000,
      red: this.red,
      redundancy: opts.redundancy ?? (codec.name === 'opus' ? 2 : 1),
      cn: this.cn(),
      frameMs: this.frameMs,
      dtx: opts.dtx,
    });
    // Datagrams are told apart by their source address, which is never a host name.
    if (opts.server && isIP(opts.server.address) !== 4) throw new RangeError(`the forwarder's address must be an IPv4 address, not ${opts.server.address}`);
    this.server = opts.server && opts.forward ? { ip: opts.server.address, port: opts.server.port } : null;
    this.topologyNow = this.server ? (opts.topology ?? 'forward') : 'mesh';
    if (this.topologyNow === 'mesh' && !opts.mesh) throw new RangeError('a mesh room needs its mesh options');
    this.maxSenders = opts.maxSenders ?? 32;
    this.mixer = new Mixer({ samples: this.samples });
    this.forwarder =
      this.server && opts.forward
        ? new ForwarderLink({
            link: opts.link,
            server: this.server,
            forward: opts.forward,
            keepaliveMs: opts.keepaliveMs,
            timeoutMs: opts.registerTimeoutMs,
            timers: this.timers,
          })
        : null;
    this.clock = new FrameClock(this.frameMs, this.tick, { timers: this.timers });
  }

  get topology(): RoomTopology {
    return this.topologyNow;
  }

  /**
   * Registers with the forwarder (in mesh too: it is the fallback, and it tells this socket's
   * public address), starts the mesh's pairs, opens the sink and starts the source; rejects with a
   * MediaError (`input_device`, `output_device`), leaving nothing open.
   */
  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error('room media already started');
    this.state = 'running';
    this.io.listen();
    if (this.forwarder) {
      this.forwarder.on('registered', this.onRegistered);
      // In a mesh the forwarder is only the fallback: the pairs go on without it.
      this.forwarder.once('failed', (why) => this.topologyNow === 'forward' && this.fail(new MediaError('no_path', why)));
      this.forwarder.start();
    }
    if (this.topologyNow === 'mesh') this.openMesh();
    await this.io.open(this.samples, this.onFrame, { stop: () => this.stop(), running: () => this.state === 'running' });
  }

  /** Stops sending and playing, closes the devices, the streams and the socket; safe to call twice. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.emit('stopped', this.failure);
    this.clock.stop();
    this.forwarder?.close();
    this.forwarder?.off('registered', this.onRegistered);
    this.mesh?.close();
    this.mesh = null;
    await this.io.close();
    for (const name of [...this.roster.keys()]) this.removeSender(name);
    this.sendPath.close();
    this.opts.voice?.close();
  }

  /**
   * A member's sender key: its packets (by the key's SSRC) are opened, buffered, decoded and
   * mixed. For a member already known this is a rekey: a fresh stream for the new key, while
   * packets under the old one are still played until the first one under the new key arrives.
   * False (nothing changed) when the SSRC is another member's or the room is at maxSenders.
   */
  addSender(name: string, key: SenderKey): boolean {
    if (this.state === 'stopped') return false;
    const ssrc = key.ssrc >>> 0;
    const owner = this.bySsrc.get(ssrc);
    if (owner && owner.name !== name) return false;
    if (ssrc === this.opts.send.ssrc >>> 0) return false;
    const known = this.roster.get(name);
    if (!known && this.roster.size >= this.maxSenders) return false;
    const stream = new SenderStream({
      name,
      key,
      decoder: this.codec.createDecoder({ frameMs: this.frameMs }),
      payloadType: this.opts.codec.payloadType,
      red: this.red,
      cn: this.cn(),
      clockRate: this.opts.codec.clockRate,
      frameMs: this.frameMs,
      jitter: this.opts.jitter,
      talking: this.opts.talking,
    });
    if (known) {
      // The stream two keys back is done with; the same SSRC under a new key replaces at once.
      if (known.previous) this.retire(known.previous);
      if (known.stream.ssrc === ssrc) this.retire(known.stream);
      else known.previous = known.stream;
      stream.muted = known.stream.muted;
      known.stream = stream;
    } else this.roster.set(name, { stream, previous: null, talking: false });
    this.bySsrc.set(ssrc, stream);
    return true;
  }

  /** Forgets a member: its packets are dropped from now on and it is no longer mixed (a talking member stops talking). */
  removeSender(name: string): void {
    const m = this.roster.get(name);
    if (!m) return;
    this.roster.delete(name);
    if (m.previous) this.retire(m.previous);
    this.retire(m.stream);
    if (m.talking && this.state === 'running') this.emit('talking', name, false);
  }

  /** Another member of the room: in mesh, a pair to it (this side's signal goes out now). */
  addPeer(name: string): void {
    if (this.state === 'stopped') return;
    this.peers.add(name);
    this.mesh?.add(name);
  }

  /** A member left: its pair stops. */
  removePeer(name: string): void {
    this.peers.delete(name);
    this.mesh?.remove(name);
  }

  /** A member's room.signal body, for its pair (ignored in forward); one from a non-member, or not a signal, is counted and dropped. */
  signal(from: string, body: unknown): void {
    if (this.state === 'stopped') return;
    // The mesh counts the bodies it reads and refuses; these are the ones it never sees.
    if (!this.peers.has(from)) this.malformedSignals++;
    else this.mesh?.signal(from, body);
  }

  /**
   * Moves to another topology without a break: to forward, the mesh's pairs stop and the next
   * packet goes to the forwarder (the others hear it from there at once); to mesh, pairs start
   * and packets go direct once every one connects. No-op without a forwarder (mesh it stays).
   */
  useTopology(topology: RoomTopology): void {
    if (this.state === 'stopped' || !this.forwarder || topology === this.topologyNow) return;
    this.topologyNow = topology;
    if (topology === 'mesh') {
      if (this.state === 'running') this.openMesh();
      return;
    }
    this.mesh?.close();
    this.mesh = null;
  }

  /** This member's new sender key: the next packet goes out under it, with its SSRC. */
  rekey(send: SenderKey): void {
    this.opts.send = send;
    this.sendPath.rekey(send);
  }

  /** Mutes (or unmutes) a member here only: it is still received, but not mixed. */
  muteMember(name: string, muted: boolean): boolean {
    const m = this.roster.get(name);
    if (!m) return false;
    m.stream.muted = muted;
    if (m.previous) m.previous.muted = muted;
    return true;
  }

  /** Every member whose key is known, in the order their keys were added. */
  members(): MemberView[] {
    return [...this.roster.values()].map((m) => ({ name: m.stream.name, level: audible(m).level, talking: m.talking, muted: m.stream.muted }));
  }

  /** Input (own microphone, before mute) and output (the mix as played) levels, dBFS RMS. */
  levels(): { input: number; output: number } {
    return { input: this.inputMeter.current.rms, output: this.outputMeter.current.rms };
  }

  stats(): RoomStats {
    const members: Record<string, ReceiveStats> = {};
    for (const [name, { stream }] of this.roster) members[name] = stream.stats();
    return {
      sent: { packets: this.sendPath.packetsSent, bytes: this.sendPath.bytesSent },
      uploaded: { ...this.uploaded },
      topology: this.topologyNow,
      pairs: this.mesh?.states() ?? {},
      malformedSignals: this.malformedSignals + (this.mesh?.malformed ?? 0),
      foreign: this.foreign,
      unknownSsrc: this.unknownSsrc,
      ticks: this.clock.count,
      limiterGain: this.mixer.currentGain,
      members,
      framesSuppressed: this.sendPath.framesSuppressed,
      cnPacketsSent: this.sendPath.cnPacketsSent,
    };
  }

  /**
   * Whether this member is sending voice (its last frame was voice and not muted; without a
   * verdict, whether it was sent), and for each member whether its speech plays now.
   */
  activity(): { sending: boolean; receiving: Record<string, boolean> } {
    const receiving: Record<string, boolean> = {};
    for (const [name, m] of this.roster) receiving[name] = audible(m).speaking;
    return { sending: this.state === 'running' && !this.mutedMic && this.sendPath.voice, receiving };
  }

  private cn(): { payloadType: number } | false {
    return this.opts.codec.cn ? { payloadType: CN_PAYLOAD_TYPE } : false;
  }

  private retire(stream: SenderStream): void {
    if (this.bySsrc.get(stream.ssrc) === stream) this.bySsrc.delete(stream.ssrc);
    stream.close();
  }

  private readonly onFrame = (frame: Frame): void => {
    if (this.state !== 'running') return;
    const verdict = this.mutedMic ? null : (this.opts.voice?.capture(frame) ?? null);
    this.inputMeter.update(frame, this.frameMs);
    const registered = this.forwarder?.address != null;
    const direct = this.mesh !== null && (this.mesh.allConnected || !registered);
    if (!direct && !registered) return;
    // Decided only for frames that can go: a CN "sent" while there is no path would be lost.
    const packet = this.sendPath.outgoing(frame, verdict, this.mutedMic);
    if (packet) this.upload(packet, direct);
  };

  private upload(packet: Buffer, direct: boolean): void {
    // Direct while every pair carries media (or there is no forwarder to fall back on); else all
    // through the forwarder, so each member gets each packet one way, never twice.
    const copies = direct ? this.mesh!.send(packet) : (this.opts.link.send(packet, this.server!), 1);
    this.uploaded.packets += copies;
    this.uploaded.bytes += copies * packet.length;
  }

  private readonly onPacket = (buf: Buffer, from: Address): void => {
    if (this.state !== 'running') return;
    const kind = classifyPacket(buf);
    const fromServer = this.server !== null && from.port === this.server.port && from.ip === this.server.ip;
    if (kind === 'stun') {
      if (fromServer) this.forwarder!.handle(buf);
      else if (!this.mesh?.handleStun(buf, from)) this.foreign++;
      return;
    }
    if (kind !== 'rtp' || buf.length < 12 || !(fromServer || this.mesh?.accepts(from))) {
      this.foreign++;
      return;
    }
    const stream = this.bySsrc.get(buf.readUInt32BE(8));
    if (!stream) {
      this.unknownSsrc++;
      return;
    }
    const now = this.timers.now();
    const first = !stream.heard;
    if (!stream.accept(buf, now)) return;
    if (first) this.firstHeard(stream);
    if (!this.clock.isRunning && stream.playing) this.clock.start(stream.initialDelayMs());
  };

  /** A stream's first authenticated packet: a rekeyed member's old stream is done with. */
  private firstHeard(stream: SenderStream): void {
    const m = this.roster.get(stream.name);
    if (m && m.stream === stream && m.previous) {
      this.retire(m.previous);
      m.previous = null;
    }
    this.emit('audio', stream.name);
  }

  private readonly tick = (): void => {
    const now = this.timers.now();
    this.mixList.length = 0;
    for (const m of this.roster.values()) {
      if (m.previous) this.play(m.previous, now);
      this.play(m.stream, now);
      const talking = audible(m).talking;
      if (talking !== m.talking) {
        m.talking = talking;
        this.emit('talking', m.stream.name, talking);
      }
    }
    const out = this.mixer.mix(this.mixList);
    this.opts.sink.write(out);
    this.opts.voice?.playback(out);
    this.outputMeter.update(out, this.frameMs);
  };

  /** A stream's frame for this tick, into the mix unless muted here; one never heard plays nothing. */
  private play(stream: SenderStream, now: number): void {
    if (!stream.heard) return;
    const frame = stream.tick(now, this.frameMs);
    if (!stream.muted) this.mixList.push(frame);
  }

  private readonly onRegistered = (address: Address): void => {
    this.offerReflexive(address);
    this.emit('registered', address);
  };

  /**
   * The forwarder's view of this socket, offered to the mesh as a server-reflexive candidate (as
   * a call's STUN gathering does), unless it is one of the socket's own addresses: no NAT.
   */
  private offerReflexive(a: Address): void {
    if (!this.mesh || this.opts.link.candidates().some((c) => addressKey(c) === addressKey(a))) return;
    this.mesh.addLocalCandidate({ ip: a.ip, port: a.port, type: 'srflx', priority: candidatePriority('srflx') });
  }

  private openMesh(): void {
    const mesh = new MeshPaths({ ...this.opts.mesh!, link: this.opts.link, timers: this.timers });
    this.mesh = mesh;
    mesh.on('pair', (name, state) => {
      if (this.mesh !== mesh) return;
      this.emit('pair', name, state);
      if (state === 'failed' && !this.forwarder?.address) this.emit('unreachable', name);
    });
    for (const name of this.peers) mesh.add(name);
    const known = this.forwarder?.address;
    if (known) this.offerReflexive(known);
  }


  private fail(err: MediaError): void {
    if (this.state !== 'running') return;
    this.failure = err;
    void this.stop().then(() => this.emit('failed', err));
  }
}

/** The stream that is heard of a member: the old one, across a rekey, until the new one is. */
function audible(m: Member): SenderStream {
  return m.previous && !m.stream.heard ? m.previous : m.stream;
}
