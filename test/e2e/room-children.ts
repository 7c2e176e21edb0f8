/**
 * Room members in processes of their own (member-child.js, built code from dist/): for rooms
 * too big for the test's one event loop. Eight members there need most of a core; on a loaded
 * machine the loop falls behind, stalls of a second follow each other, every stream waits and
 * stretches (which costs more still) and no second of playback is ever calm. Each child has its
 * own loop, measures its own stalls and judges only its own calm seconds.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CodecName } from '../../src/audio/types';
import { waitUntil } from '../helpers/wait';
import { checkHeard } from './room-helpers';
import { LoopStalls } from './media-helpers';

const SCRIPT = path.join(__dirname, 'member-child.js');
/** After a stall, streams take this long to play from their buffers again (as room-helpers' SETTLE_MS). */
const SETTLE_MS = 500;
/**
 * Stalls shorter than this, in any process, are left out of judging. In one process every stall
 * stops every member's clock and socket at once; across processes a short one is a packet or
 * two a little late, which the receiver's playout bridges by extending the tone at full level
 * (for 60 ms, WAIT_FULL_MS in playout.ts), so it cannot move a level. Under load each of nine
 * processes has one of 8-50 ms every second or so (measured): counting them, no second is ever
 * clear of all of them.
 */
const STALL_MIN_MS = 50;

type Span = { from: number; to: number };

/** This process's stalls: the forwarder runs here, so one is a gap in every stream it copies. */
const stalls = new LoopStalls();

interface Started {
  terms: { codec: string; topology: string };
  isOwner: boolean;
}

interface Judged {
  levels: number[];
  calm: boolean;
  frames: number;
  sent: number;
}

/** What `state` tells of a member's room. */
export interface ChildState {
  isOwner: boolean;
  members: number;
  terms: { codec: { name: string }; topology: string } | null;
  /** A number for the media object the room runs (the same while a new round keeps it), null when none. */
  media: number | null;
}

/** What `stats` tells of a member's room media, read at one instant (packet counts, null when no media runs). */
export interface ChildStats {
  /** Each mesh pair's state, by the other member's name ({} when the room is not a mesh). */
  pairs: Record<string, 'waiting' | 'checking' | 'connected' | 'failed'>;
  /** Packets sealed (one per frame sent, whatever the number of copies). */
  sent: number | null;
  /** Packets that left the socket: one per copy (one per other member in a mesh, one to the forwarder). */
  uploaded: number | null;
  terms: { codec: { name: string }; topology: string } | null;
}

/** How a member runs, besides its name, tone and room. */
export interface ChildOptions {
  codecs?: CodecName[];
  /**
   * Walls it in: it advertises a dead-end candidate and its socket talks to the server's UDP
   * port (`udpPort`) only, both ways.
   */
  walled?: { udpPort: number };
}

/** A member in a child process: the room's events (as RoomEvents, their payloads as JSON) are emitted here. */
export class ChildMember extends EventEmitter {
  /** Resolves when the room's media runs here: the terms as this member took them. */
  readonly started: Promise<Started>;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private err = '';
  private exited = false;

  private constructor(
    readonly name: string,
    readonly tone: number,
    private readonly child: ChildProcess,
  ) {
    super();
    child.stderr!.on('data', (d) => (this.err += d));
    child.on('message', (m: { event?: string; payload?: unknown }) => m.event && this.emit(m.event, m.payload));
    this.started = new Promise((resolve, reject) =>
      child.on('message', (m: { event?: string; payload?: { terms: { codec: { name: string }; topology: string } }; isOwner: boolean }) => {
        if (m.event === 'started') resolve({ terms: { codec: m.payload!.terms.codec.name, topology: m.payload!.terms.topology }, isOwner: m.isOwner });
        if (m.event === 'ended') reject(new Error(`${name}: the room ended: ${JSON.stringify(m.payload)}`));
      }),
    );
    // Awaited by whoever needs it; an end before then is reported there.
    this.started.catch(() => undefined);
    child.on('message', (m: { id?: number; result?: unknown; error?: string }) => {
      if (m.id === undefined) return;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error !== undefined) p?.reject(new Error(`${this.name}: ${m.error}`));
      else p?.resolve(m.result);
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error(`${this.name} exited (${code ?? signal}): ${this.err}`));
      this.pending.clear();
    });
  }

  /** A member joined to `room` on the server at `port`, with a tone of `tone` Hz; resolves once it is in the room. */
  static async join(port: number, name: string, tone: number, room: string, opts: ChildOptions = {}): Promise<ChildMember> {
    const child = fork(SCRIPT, [JSON.stringify({ port, name, tone, room, codecs: opts.codecs, walled: opts.walled })], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const m = new ChildMember(name, tone, child);
    await new Promise<void>((resolve, reject) => {
      child.on('message', (msg: { ready?: boolean }) => msg.ready && resolve());
      child.once('exit', (code, signal) => reject(new Error(`${name} exited (${code ?? signal}) before joining: ${m.err}`)));
    });
    return m;
  }

  private request<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited: ${this.err}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, cmd, ...args });
    });
  }

  members(): Promise<number> {
    return this.request('members');
  }

  /** Resolves with the payload of the next `event` of its room. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  next(event: string): Promise<any> {
    return new Promise((resolve) => this.once(event, resolve));
  }

  start(topology?: 'mesh' | 'forward'): Promise<void> {
    return this.request('start', { topology });
  }

  leave(): Promise<void> {
    return this.request('leave');
  }

  state(): Promise<ChildState> {
    return this.request('state');
  }

  stats(): Promise<ChildStats> {
    return this.request('stats');
  }

  mark(): Promise<void> {
    return this.request('mark');
  }

  /** Its event loop's stalls that ended after `since` (ms since the epoch). */
  stalls(since: number): Promise<Span[]> {
    return this.request('stalls', { since });
  }

  /** What it played since the mark, and whether a second of it is calm: no stall of its own or in `stalls` touched it. */
  status(stalls: Span[]): Promise<{ played: number; calm: boolean }> {
    return this.request('status', { stalls });
  }

  /** The level of each of `tones` in its latest calm second (as status judges it), or the latest second when none is. */
  judge(tones: number[], stalls: Span[]): Promise<Judged> {
    return this.request('judge', { tones, stalls });
  }

  /** Ends the process (its connection drops: the others are told it left). */
  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await gone;
  }
}

/** Members in processes of their own, closed together after each test. */
export class ChildRoomTestbed {
  private readonly members: ChildMember[] = [];

  constructor(private readonly port: () => number) {}

  /** One member joining `room` (a new room's first is its owner). */
  async member(name: string, tone: number, room: string, codecs?: CodecName[], opts: ChildOptions = {}): Promise<ChildMember> {
    const m = await ChildMember.join(this.port(), name, tone, room, { codecs, ...opts });
    this.members.push(m);
    return m;
  }

  /**
   * Members join one room in turn; the first is its owner and starts once all are in (in
   * `topology`, if given); resolves when media runs everywhere.
   */
  async room(id: string, tones: number[], opts: { topology?: 'mesh' | 'forward'; members?: (i: number) => ChildOptions } = {}): Promise<ChildMember[]> {
    const members: ChildMember[] = [];
    for (const [i, tone] of tones.entries()) members.push(await this.member(`m${i}-${id}`, tone, id, undefined, opts.members?.(i)));
    await waitUntil(async () => (await members[0].members()) === tones.length, 'everyone in the room', 30_000, 100);
    await members[0].start(opts.topology);
    await Promise.all(members.map((m) => m.started));
    return members;
  }

  async close(): Promise<void> {
    await Promise.all(this.members.splice(0).map((m) => m.close()));
  }
}

/** When the last playedByChildren began, ms since the epoch: stalls before it (and its settle time) no longer matter. */
let markedAt = 0;

/**
 * Every process's stalls (of STALL_MIN_MS or more) since the mark: the test's own (the forwarder's) and each member's.
 * What a member hears passes through the sender's process and this one as well as its own.
 */
async function allStalls(members: ChildMember[]): Promise<Span[]> {
  const since = markedAt - SETTLE_MS;
  const here = stalls.spans.map((s) => ({ from: performance.timeOrigin + s.from, to: performance.timeOrigin + s.to }));
  const theirs = await Promise.all(members.map((m) => m.stalls(since)));
  return here.concat(...theirs).filter((s) => s.to >= since && s.to - s.from >= STALL_MIN_MS);
}

/**
 * Waits until every member has played `seconds` of audio since now, then, for up to 60 s more,
 * until each has a second of it that no stall of any process touched.
 */
export async function playedByChildren(members: ChildMember[], seconds: number): Promise<void> {
  markedAt = performance.timeOrigin + performance.now();
  await Promise.all(members.map((m) => m.mark()));
  const status = async () => {
    const spans = await allStalls(members);
    return Promise.all(members.map((m) => m.status(spans)));
  };
  await waitUntil(async () => (await status()).every((s) => s.played >= seconds * 50), `every member to play ${seconds} s`, 30_000, 100);
  const deadline = Date.now() + 60_000;
  while (!(await status()).every((s) => s.calm) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
}

/** Each member's level of each of `tones` in its latest calm second since the last playedByChildren (its latest second when none is calm). */
export async function levelsOfChildren(members: ChildMember[], tones: number[]): Promise<number[][]> {
  const spans = await allStalls(members);
  return (await Promise.all(members.map((m) => m.judge(tones, spans)))).map((j) => j.levels);
}

/** Checks what each child heard in its latest calm second (checkHeard); each member's figures. */
export async function expectEveryoneHeardByChildren(members: ChildMember[]): Promise<Judged[]> {
  const tones = members.map((m) => m.tone);
  const spans = await allStalls(members);
  const judged = await Promise.all(members.map((m) => m.judge(tones, spans)));
  const lines: string[] = [];
  for (const [i, m] of members.entries()) {
    const { levels, calm } = judged[i];
    lines.push(checkHeard(m.name + (calm ? '' : ' (no calm second)'), levels.filter((_, j) => j !== i), levels[i]));
  }
  console.log(`${members.length} members, each in its own process:\n  ${lines.join('\n  ')}`);
  return judged;
}
