/**
 * What the room end-to-end tests share: phones on a real server, members with tone sources and
 * recording sinks, and the checks that everyone hears everyone else and not themselves.
 */
import type { RunningServer } from '../../src/server';
import { Phone, type PhoneOptions, type RoomSession } from '../../src/client/phone';
import type { RoomEvents } from '../../src/client/room/room-session';
import type { CodecName } from '../../src/audio/types';
import { ToneSource } from '../../src/audio';
import { goertzel } from '../helpers/audio';
import { waitUntil } from '../helpers/wait';
import { calmWindow, LoopStalls, RecordingSink } from './media-helpers';

export interface Member {
  name: string;
  tone: number;
  phone: Phone;
  room: RoomSession;
  heard: RecordingSink;
}

export interface MemberOptions {
  codecs?: CodecName[];
  input?: ToneSource;
  /** More phone options (candidates rewritten, say). */
  phone?: Partial<PhoneOptions>;
}

/** Phones on one server, closed together after each test. */
export class RoomTestbed {
  private readonly phones: Phone[] = [];

  constructor(private readonly server: () => RunningServer) {}

  async phone(name: string, codecs: CodecName[] = ['opus', 'pcm'], extra: Partial<PhoneOptions> = {}): Promise<Phone> {
    const p = await Phone.connect({ server: { host: '127.0.0.1', port: this.server().port }, udpHost: '127.0.0.1', codecs, stun: false, relay: 'off', ...extra });
    this.phones.push(p);
    await p.register(name);
    return p;
  }

  async member(name: string, tone: number, roomId: string, opts: MemberOptions = {}): Promise<Member> {
    const p = await this.phone(name, opts.codecs, opts.phone);
    const heard = new RecordingSink();
    const room = await p.enterRoom('join', roomId, { input: opts.input ?? new ToneSource(tone, 0.25), output: heard });
    return { name, tone, phone: p, room, heard };
  }

  async close(): Promise<void> {
    await Promise.all(this.phones.splice(0).map((p) => p.close()));
  }
}

export function once<K extends keyof RoomEvents>(room: RoomSession, event: K): Promise<RoomEvents[K][0]> {
  return new Promise((resolve) => (room as unknown as NodeJS.EventEmitter).once(event, resolve));
}

/** Level of `freq` in dB (relative to full scale, roughly) over the samples. */
export function levelDb(x: Int16Array, freq: number): number {
  return 10 * Math.log10(goertzel(x, freq) / (32768 * 32768) + 1e-20);
}

/**
 * This process's loop stalls: every phone of a test shares its loop, so a stall (a busy machine,
 * a collection) stops every member's clock and sockets at once, and streams conceal until their
 * buffers catch up. The level checks judge a second of playback no stall touched.
 */
const stalls = new LoopStalls();
/** Where each member's playback stood when the last `played` began: the checks look after it. */
const marks = new WeakMap<Member, number>();
const SECOND = 50;
/** After a stall, streams take this long to play from their buffers again. */
const SETTLE_MS = 500;

/** The latest second `m` played since the last `played` began that no loop stall touched; the latest second, when every one was. */
export function lastSecond(m: Member): Int16Array {
  const n = m.heard.frames.length;
  return calmWindow(m.heard, stalls, SECOND, SETTLE_MS, marks.get(m) ?? 0) ?? m.heard.samples(Math.max(0, n - SECOND), n);
}

/**
 * What one member heard (dB of each other member's tone, and of its own): every other tone
 * within 6 dB of each other and above -40 dB, its own 30 dB below the weakest; a line saying so.
 */
export function checkHeard(name: string, others: number[], own: number): string {
  const spread = Math.max(...others) - Math.min(...others);
  const margin = Math.min(...others) - own;
  // Above -40 dB: heard at all, well above the noise of an empty mix.
  if (spread > 6 || margin < 30 || !(Math.min(...others) > -40)) {
    throw new Error(`${name}: others ${others.map((d) => d.toFixed(1)).join(', ')} dB (spread ${spread.toFixed(1)}), own ${own.toFixed(1)} dB (margin ${margin.toFixed(1)})`);
  }
  return `${name}: others ${Math.min(...others).toFixed(1)}…${Math.max(...others).toFixed(1)} dB, own ${own.toFixed(1)} dB`;
}

/**
 * Waits until every member has played `seconds` of audio since now, then, for up to 20 s more,
 * until each has a second of it that no loop stall touched (what lastSecond judges).
 */
export async function played(members: Member[], seconds: number): Promise<void> {
  for (const m of members) marks.set(m, m.heard.frames.length);
  await waitUntil(() => members.every((m) => m.heard.frames.length - marks.get(m)! >= seconds * SECOND), `every member to play ${seconds} s`, 30_000);
  const calm = () => members.every((m) => calmWindow(m.heard, stalls, SECOND, SETTLE_MS, marks.get(m)) !== null);
  const deadline = Date.now() + 20_000;
  while (!calm() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}
