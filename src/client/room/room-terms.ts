/**
 * A room's media terms, as the owner offers them and members answer (docs/protocol.md, Rooms):
 * one codec at one frame size that every member sends and receives, with or without RFC 2198
 * redundancy. A member acks an offer it can take as it stands, or nacks with a counter-proposal:
 * every codec it has and the frame sizes it takes for each. The owner's next offer is the first
 * of its own codecs, at a frame size, that every counter-proposal so far allows.
 */
import { s, type Infer } from '../../protocol/schema';
import { FRAME_MS, type FrameMs } from '../../audio/codecs/frame-sizes';
import { codecSchema, type CodecDescription } from '../../media/negotiation';

export const ROOM_TERMS_VERSION = 1;

/**
 * Most members a room sends mesh with (each member to each other directly); above it, through
 * the server's forwarder. From bench/room-topology.ts: one copy of a member's stream (Opus
 * 24 kbit/s at 20 ms, two redundant frames, sealed) is ~99 kbit/s on the wire and a mesh member
 * uploads one per other member: four members, three copies, ~300 kbit/s, under a third of a
 * 1 Mbit/s uplink, and every pair on a call's own path, not detoured through the server
 * (docs/architecture.md, "Mesh or forward").
 */
export const MESH_MAX = 4;

/** How media travels: `mesh`, each member to each other directly; `forward`, through the server's forwarder. */
export const topologySchema = s.enum(['mesh', 'forward']);
export type Topology = Infer<typeof topologySchema>;

/** An offer without a topology is one from before meshes: through the forwarder. */
/**
 * `cn`: members send RFC 3389 comfort noise (payload type CN_PAYLOAD_TYPE) in their silences and
 * while muted, and leave silent frames out when set to. Optional: an offer without it is one from
 * before comfort noise, and then no member sends it.
 */
export const roomTermsSchema = s.object({
  v: s.literal(ROOM_TERMS_VERSION),
  codec: codecSchema,
  red: s.boolean(),
  cn: s.boolean().optional(),
  topology: topologySchema.default('forward'),
});
export type RoomTerms = Infer<typeof roomTermsSchema>;

export const counterSchema = s.object({
  codecs: s.array(s.object({ name: s.string().max(32), frameMs: s.array(s.number().int()).max(FRAME_MS.length) })).max(8),
});
export type Counter = Infer<typeof counterSchema>;

/** What a member answers an offer: ack, or nack with what it could take instead. */
export type Verdict = { ack: true; terms: RoomTerms } | { ack: false; counter: Counter; why: string };

export function parseTerms(body: unknown): RoomTerms | null {
  const r = roomTermsSchema.safeParse(body);
  return r.success ? r.data : null;
}

export function parseCounter(body: unknown): Counter | null {
  const r = counterSchema.safeParse(body);
  return r.success ? r.data : null;
}

/** What the owner offers besides the codec: comfort noise (`cn`, off unless asked). */
export interface TermsExtras {
  cn?: boolean;
}

function extras(opts: TermsExtras): { cn?: true } {
  return opts.cn ? { cn: true } : {};
}

/** The owner's first offer: its preferred codec at its frame size, with redundancy (and comfort noise when asked). */
export function firstTerms(local: readonly CodecDescription[], opts: TermsExtras = {}): RoomTerms | null {
  return local.length ? { v: ROOM_TERMS_VERSION, codec: local[0], red: true, ...extras(opts), topology: 'forward' } : null;
}

/** The topology for a room of `members`: mesh up to MESH_MAX, forward above it; mesh always without a forwarder. */
export function topologyFor(members: number, forwarder: boolean, meshMax = MESH_MAX): Topology {
  return !forwarder || members <= meshMax ? 'mesh' : 'forward';
}

/** A member's counter-proposal: each codec it has, at the one frame size it is set to. */
export function counterOf(local: readonly CodecDescription[]): Counter {
  return { codecs: local.map((c) => ({ name: c.name, frameMs: [c.frameMs] })) };
}

/** Whether this member can take `body` as offered. */
export function judge(body: unknown, local: readonly CodecDescription[]): Verdict {
  const terms = parseTerms(body);
  if (!terms) return { ack: false, counter: counterOf(local), why: 'the offer is not one this client reads' };
  const c = terms.codec;
  const mine = local.find((l) => l.name === c.name && l.payloadType === c.payloadType && l.clockRate === c.clockRate);
  if (!mine) return { ack: false, counter: counterOf(local), why: `no ${c.name} here` };
  if (mine.frameMs !== c.frameMs) return { ack: false, counter: counterOf(local), why: `${c.frameMs} ms frames offered, ${mine.frameMs} ms wanted` };
  return { ack: true, terms };
}

/**
 * The owner's re-offer: for each of its codecs in order, its own frame size first and then those
 * the counters ask for, the first that every counter allows. Null when none does (the owner
 * cannot serve every member: the round stays open).
 */
export function reoffer(local: readonly CodecDescription[], counters: readonly Counter[], opts: TermsExtras = {}): RoomTerms | null {
  for (const codec of local) {
    const sizes = [codec.frameMs, ...counters.flatMap((k) => k.codecs.filter((x) => x.name === codec.name).flatMap((x) => x.frameMs))];
    for (const frameMs of new Set(sizes)) {
      if (!(FRAME_MS as readonly number[]).includes(frameMs) || (codec.name === 'pcm' && frameMs > 20)) continue;
      if (counters.every((k) => k.codecs.some((x) => x.name === codec.name && x.frameMs.includes(frameMs)))) {
        return { v: ROOM_TERMS_VERSION, codec: { ...codec, frameMs: frameMs as FrameMs }, red: true, ...extras(opts), topology: 'forward' };
      }
    }
  }
  return null;
}

/** The same codec, frame size, redundancy and comfort noise: media can go on as it is (the topology aside). */
export function sameCodec(a: RoomTerms | null, b: RoomTerms | null): boolean {
  return a !== null && b !== null && a.red === b.red && !!a.cn === !!b.cn && a.codec.name === b.codec.name && a.codec.frameMs === b.codec.frameMs && a.codec.payloadType === b.codec.payloadType;
}

export function sameTerms(a: RoomTerms | null, b: RoomTerms | null): boolean {
  return sameCodec(a, b) && a!.topology === b!.topology;
}
