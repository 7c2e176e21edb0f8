import { s, type Infer } from '../protocol/schema';
import type { CodecName } from '../audio/types';
import type { Candidate } from './candidates';
import { iceCredentialsSchema, type IceCredentials } from './ice/credentials';
import type { MediaKeys } from './crypto/call-security';
import { mediaKeySchema, type MediaKey } from './crypto/media-key';

/**
 * The media session description carried opaquely in signaling `call.offer` and
 * `answer.answer`. The caller lists its codecs in preference order; the callee picks the
 * first one it also has and both then send that codec, at that frame size, both ways.
 * Media is always encrypted: each side's `crypto` (crypto/media-key.ts) is required, and a
 * description without one is refused as incompatible.
 */

export const RED_PAYLOAD_TYPE = 63;
/** RFC 3389 comfort noise at 48 kHz: a dynamic payload type (13 is CN's static one, at 8 kHz only). */
export const CN_PAYLOAD_TYPE = 105;
export const MEDIA_DESCRIPTION_VERSION = 1;

export const codecSchema = s.object({
  name: s.string().max(32),
  payloadType: s.number().int().min(0).max(127),
  clockRate: s.number().int().positive(),
  frameMs: s.union([s.literal(10), s.literal(20), s.literal(40)]),
});
export const candidateSchema = s.object({
  ip: s.string().max(64),
  port: s.number().int().min(1).max(65535),
  type: s.enum(['host', 'srflx', 'prflx', 'relay']),
  priority: s.number().int().min(1).max(0xffffffff).optional(),
});
/** RFC 2198 redundancy the sender of this description can receive, and its payload type. */
const redSchema = s.union([s.literal(false), s.object({ payloadType: s.number().int().min(0).max(127) })]);
/**
 * RFC 3389 comfort noise the sender of this description can receive, and its payload type.
 * Optional: a description from before comfort noise has none, and then neither side sends it.
 */
const cnSchema = s.union([s.literal(false), s.object({ payloadType: s.number().int().min(0).max(127) })]).optional();

export const offerSchema = s.object({
  v: s.literal(MEDIA_DESCRIPTION_VERSION),
  codecs: s.array(codecSchema).max(16),
  red: redSchema,
  cn: cnSchema,
  candidates: s.array(candidateSchema).max(32),
  /** The RTP SSRC this side sends with: packets claiming another are not the peer's. */
  ssrc: s.number().int().min(0).max(0xffffffff),
  /** This side's ICE credentials: connectivity checks to it must carry them. */
  ice: iceCredentialsSchema,
  /** This side's signed ephemeral key: media is encrypted, always. */
  crypto: mediaKeySchema,
});
export const answerSchema = s.object({
  v: s.literal(MEDIA_DESCRIPTION_VERSION),
  codec: codecSchema,
  red: redSchema,
  cn: cnSchema,
  candidates: s.array(candidateSchema).max(32),
  ssrc: s.number().int().min(0).max(0xffffffff),
  ice: iceCredentialsSchema,
  crypto: mediaKeySchema,
});

export type CodecDescription = Infer<typeof codecSchema>;
export type Offer = Infer<typeof offerSchema>;
export type Answer = Infer<typeof answerSchema>;

/** What both ends agreed on, from one side's point of view. */
export interface Agreement {
  codec: CodecDescription & { name: CodecName };
  red: { payloadType: number } | false;
  /**
   * Comfort noise (RFC 3389) both sides take, with its payload type; absent or false: none, and
   * a silent or muted sender sends nothing in its place.
   */
  cn?: { payloadType: number } | false;
  localSsrc: number;
  remoteSsrc: number;
  localCandidates: Candidate[];
  remoteCandidates: Candidate[];
  /** The caller controls the connectivity checks (it nominates the pair); the callee is controlled. */
  controlling: boolean;
  localIce: IceCredentials;
  remoteIce: IceCredentials;
  /** The call's media keys (crypto/call-security.ts). */
  keys: MediaKeys;
}

/** An agreement before the keys: what the descriptions settle by themselves. */
export type Terms = Omit<Agreement, 'keys'>;

export type AnswerResult =
  | { ok: true; answer: Omit<Answer, 'crypto'>; terms: Terms; remote: MediaKey }
  | { ok: false; reason: 'incompatible'; message: string };

export function parseOffer(body: unknown): Offer | null {
  const r = offerSchema.safeParse(body);
  return r.success ? r.data : null;
}

export function parseAnswer(body: unknown): Answer | null {
  const r = answerSchema.safeParse(body);
  return r.success ? r.data : null;
}

/** Why a description could not be read: said plainly when it is only the key that is missing. */
function unreadable(body: unknown, who: 'caller' | 'callee', what: 'offer' | 'answer'): string {
  const plain = typeof body === 'object' && body !== null && !Array.isArray(body) && !('crypto' in body);
  return plain
    ? `the ${who} sent no encryption key: it runs a parley without end-to-end encryption, which this version does not talk to`
    : `the ${who} sent a media ${what} this version cannot read`;
}

function sameCodec(a: CodecDescription, b: CodecDescription): boolean {
  return a.name === b.name && a.clockRate === b.clockRate;
}

/**
 * The callee's side: the first offered codec it supports (payload type and frame size as
 * offered), redundancy if both want it, comfort noise if the offer has it and `local.cn` is not
 * false. An unreadable offer is incompatible too.
 */
export function answerOffer(
  body: unknown,
  local: { codecs: CodecDescription[]; red: boolean; cn?: boolean; candidates: Candidate[]; ssrc: number; ice: IceCredentials },
): AnswerResult {
  const offer = parseOffer(body);
  if (!offer) return { ok: false, reason: 'incompatible', message: unreadable(body, 'caller', 'offer') };
  const codec = offer.codecs.find((o) => local.codecs.some((l) => sameCodec(o, l)));
  if (!codec) {
    const theirs = offer.codecs.map((c) => c.name).join(', ') || 'none';
    const ours = local.codecs.map((c) => c.name).join(', ') || 'none';
    return { ok: false, reason: 'incompatible', message: `no common codec (caller offers ${theirs}; this side has ${ours})` };
  }
  const red = local.red && offer.red ? offer.red : false;
  // A payload type the codec or RED already uses cannot also be comfort noise.
  const cnUsable = offer.cn && offer.cn.payloadType !== codec.payloadType && (!red || red.payloadType !== offer.cn.payloadType);
  const cn = local.cn !== false && cnUsable ? offer.cn || false : false;
  // An offer without comfort noise gets an answer without the field, as before it existed.
  const answer = { v: MEDIA_DESCRIPTION_VERSION, codec, red, ...(cn ? { cn } : {}), candidates: local.candidates, ssrc: local.ssrc, ice: local.ice } as const;
  return {
    ok: true,
    answer,
    remote: offer.crypto,
    terms: {
      codec: codec as Agreement['codec'],
      red,
      cn,
      localSsrc: local.ssrc,
      remoteSsrc: offer.ssrc,
      localCandidates: local.candidates,
      remoteCandidates: offer.candidates,
      controlling: false,
      localIce: local.ice,
      remoteIce: offer.ice,
    },
  };
}

/** The caller's side: checks the answer picks one of the offered codecs. */
export function acceptAnswer(body: unknown, offer: Offer): { terms: Terms; remote: MediaKey } | { error: string } {
  const answer = parseAnswer(body);
  if (!answer) return { error: unreadable(body, 'callee', 'answer') };
  const codec = offer.codecs.find((c) => sameCodec(c, answer.codec) && c.payloadType === answer.codec.payloadType);
  if (!codec) return { error: `the callee chose ${answer.codec.name}, which was not offered` };
  const terms: Terms = {
    codec: { ...codec, frameMs: answer.codec.frameMs } as Agreement['codec'],
    red: offer.red && answer.red ? answer.red : false,
    cn: offer.cn && answer.cn && offer.cn.payloadType === answer.cn.payloadType ? answer.cn : false,
    localSsrc: offer.ssrc,
    remoteSsrc: answer.ssrc,
    localCandidates: offer.candidates,
    remoteCandidates: answer.candidates,
    controlling: true,
    localIce: offer.ice,
    remoteIce: answer.ice,
  };
  return { terms, remote: answer.crypto };
}

/** A trickled candidate (`candidate` message), or null when it is not one this version reads. */
export function parseCandidate(body: unknown): Candidate | null {
  const r = candidateSchema.safeParse(body);
  return r.success ? r.data : null;
}
