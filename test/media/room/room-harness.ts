/**
 * Rooms of real RoomMedia members on loopback UDP through the fake forwarder, each with its own
 * tone, on one hand-driven clock: a step moves time one frame (every source sends a packet,
 * every mix clock ticks) and then waits until the forwarder has copied every packet and every
 * copy has arrived, so what each member plays depends on nothing but the steps.
 */
import { EventEmitter } from 'node:events';
import { ToneSource } from '../../../src/audio/sources/tone-source';
import type { AudioSink, Frame } from '../../../src/audio/types';
import { newSenderKey, type SenderKey } from '../../../src/media/crypto/sender-keys';
import { RoomMedia, type RoomCodec, type RoomMediaOptions } from '../../../src/media/room/room-media';
import { UdpLink } from '../../../src/media/udp-link';
import { ManualTimers, concatFrames, goertzel } from '../../helpers/audio';
import { FakeForwarder } from '../../helpers/fake-forwarder';
import { waitFor, waitUntil } from '../../helpers/wait';

export const OPUS_20: RoomCodec = { name: 'opus', payloadType: 111, clockRate: 48000, frameMs: 20, red: true };

/** Keeps what it is given, frame by frame. */
export class MemorySink extends EventEmitter implements AudioSink {
  readonly description = 'memory';
  readonly frames: Frame[] = [];
  async open(): Promise<void> {}
  write(frame: Frame): void {
    this.frames.push(frame);
  }
  async close(): Promise<void> {}
  /** The audio played from frame `from` on (up to `to`). */
  since(from: number, to = this.frames.length): Int16Array {
    return concatFrames(this.frames.slice(from, to));
  }
}

export interface Member {
  name: string;
  freq: number;
  key: SenderKey;
  link: UdpLink;
  sink: MemorySink;
  room: RoomMedia;
  /** Datagrams that reached this member's socket. */
  arrived: number;
}

export class Room {
  private constructor(
    readonly timers: ManualTimers,
    readonly forwarder: FakeForwarder,
    readonly members: Member[],
  ) {}

  /** Members named by `tones` (name → frequency), all keys known to all, registered. */
  static async open(tones: Record<string, number>, codec = OPUS_20, extra: (name: string) => Partial<Pick<RoomMediaOptions, 'voice' | 'dtx'>> = () => ({})): Promise<Room> {
    const timers = new ManualTimers();
    const forwarder = await FakeForwarder.start();
    const members: Member[] = [];
    for (const [name, freq] of Object.entries(tones)) {
      const link = await UdpLink.open({ host: '127.0.0.1' });
      const sink = new MemorySink();
      const key = newSenderKey();
      const room = new RoomMedia({
        link,
        server: { address: forwarder.address.ip, port: forwarder.address.port },
        forward: forwarder.allow(name),
        codec,
        send: key,
        source: new ToneSource(freq, 0.2, { timers }),
        sink,
        timers,
        ...extra(name),
      });
      const m: Member = { name, freq, key, link, sink, room, arrived: 0 };
      link.on('packet', () => m.arrived++);
      members.push(m);
    }
    for (const m of members) for (const o of members) if (o !== m) expect(m.room.addSender(o.name, o.key)).toBe(true);
    await Promise.all(
      members.map(async (m) => {
        const registered = waitFor(m.room, 'registered');
        await m.room.start();
        await registered;
      }),
    );
    return new Room(timers, forwarder, members);
  }

  get(name: string): Member {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  /**
   * Moves time `frames` frames on, one at a time, each time until every datagram has landed;
   * `between(i)` runs after each move, before the wait (to release held packets).
   */
  async step(frames = 1, between?: (i: number) => void): Promise<void> {
    for (let i = 0; i < frames; i++) {
      this.timers.advance(20);
      await this.settle();
      between?.(i);
      await this.settle();
    }
  }

  /** Until the forwarder has taken every packet sent and every copy it made (and `extra` more) has arrived. */
  async settle(extra = 0): Promise<void> {
    await waitUntil(
      () => {
        const sent = this.members.reduce((n, m) => n + m.room.stats().sent.packets, 0);
        const arrived = this.members.reduce((n, m) => n + m.arrived, 0);
        // The forwarder's STUN answers arrive too.
        return sent <= this.forwarder.rtpIn && arrived >= this.forwarder.copied + this.forwarder.answered + extra;
      },
      'every packet has been forwarded and delivered',
      15_000,
      1,
    );
  }

  private closed = false;

  /** Stops every member and the forwarder; once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.members.map((m) => m.room.stop()));
    await this.forwarder.close();
  }
}

/** Power of `freq` in `x`, dB. */
export function toneDb(x: ArrayLike<number>, freq: number): number {
  return 10 * Math.log10(goertzel(x, freq) + 1e-12);
}
