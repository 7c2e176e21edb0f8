import { z } from 'zod';
import { END_REASONS, ERROR_CODES, FAIL_CAUSES } from './errors';
import { jsonBytes, nestsDeeperThan } from './json-bounds';
import { MAX_BODY_BYTES, MAX_JSON_DEPTH, MAX_REQ_CHARS, NAME_PATTERN } from './limits';
import { quickClientMessage } from './quick-parse';
import { roomClientSchemas, roomServerSchemas } from './rooms';

/**
 * Signaling wire format v1: one JSON object per line. One schema a message; the
 * TypeScript types are inferred from them. docs/protocol.md is the prose contract.
 */

const req = z.union([z.string().max(MAX_REQ_CHARS), z.number().int()]).optional();
const callId = z.string().min(1).max(64);
/** Names are checked for shape by the server (to answer `bad_name`), so any string is accepted here. */
const name = z.string().max(256);
/** Marks the issues that mean "too big" rather than "malformed", so the reply says `too_large`. */
const TOO_LARGE = { tooLarge: true };
/**
 * Offer/answer/candidate bodies: any JSON object, opaque to the server beyond its size in UTF-8
 * bytes. Its depth was bounded before parsing (see parseWith), so serialising it cannot overflow.
 */
const body = z
  .record(z.string(), z.unknown())
  .refine((v) => jsonBytes(v) <= MAX_BODY_BYTES, { message: `larger than ${MAX_BODY_BYTES} bytes`, params: TOO_LARGE });
const endReason = z.enum(END_REASONS);
const failCause = z.enum(FAIL_CAUSES);
export const userStatus = z.enum(['idle', 'ringing', 'in-call']);

// ---- client → server -------------------------------------------------------
/**
 * `identity`: the client's Ed25519 key and its signature over `helloProof(nonce, name)`, with the
 * nonce of this connection's last `challenge` (see src/protocol/name-proof.ts). Servers that
 * claim names (`--names claim`) bind a name to the first key that proves it; others ignore it.
 */
const identityProof = z.object({ key: z.string().max(64), sig: z.string().max(128) });
/** `resume`: the token of an earlier `welcome`, to take that session back (see docs/protocol.md, Resuming). */
export const helloSchema = z.object({
  type: z.literal('hello'),
  req,
  version: z.number().int(),
  name,
  identity: identityProof.optional(),
  resume: z.string().max(64).optional(),
});
/** Asks for a fresh nonce to sign in the next `hello`; allowed before registering. */
export const challengeSchema = z.object({ type: z.literal('challenge'), req });
/** One page of the users online, by name; `after` is the last name of the previous page. */
export const listSchema = z.object({ type: z.literal('list'), req, after: name.optional(), limit: z.number().int().min(1).optional() });
export const lookupSchema = z.object({ type: z.literal('lookup'), req, name });
export const callSchema = z.object({ type: z.literal('call'), req, to: name, offer: body });
export const answerSchema = z.object({
  type: z.literal('answer'),
  req,
  call: callId,
  accept: z.boolean(),
  answer: body.optional(),
  reason: z.enum(['declined', 'busy', 'incompatible', 'failed']).optional(),
  /** With reason `failed`: what failed. */
  cause: failCause.optional(),
});
export const cancelSchema = z.object({ type: z.literal('cancel'), req, call: callId });
export const candidateSchema = z.object({ type: z.literal('candidate'), req, call: callId, candidate: body });
export const hangupSchema = z.object({
  type: z.literal('hangup'),
  req,
  call: callId,
  reason: z.enum(['hangup', 'failed']).optional(),
  /** With reason `failed`: what failed. */
  cause: failCause.optional(),
});
export const pingSchema = z.object({ type: z.literal('ping'), req });
/** Leaving for good: the name is freed at once, without the grace a dropped connection gets. */
export const byeSchema = z.object({ type: z.literal('bye'), req });

export const clientMessageSchema = z.discriminatedUnion('type', [
  helloSchema,
  challengeSchema,
  listSchema,
  lookupSchema,
  callSchema,
  answerSchema,
  cancelSchema,
  candidateSchema,
  hangupSchema,
  pingSchema,
  byeSchema,
  ...roomClientSchemas,
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;
export type ClientMessageType = ClientMessage['type'];
export type ClientMessageOf<T extends ClientMessageType> = Extract<ClientMessage, { type: T }>;

// ---- server → client -------------------------------------------------------
const userInfo = z.object({ name: z.string(), status: userStatus });
export const welcomeSchema = z.object({
  type: z.literal('welcome'),
  req,
  id: z.string(),
  name: z.string(),
  udpPort: z.number().int(),
  version: z.number().int(),
  /** The token a later `hello` presents to take this session back after a dropped connection. */
  resume: z.string().max(64).optional(),
  /** This `hello` took back an earlier session (its name, its call) rather than starting one. */
  resumed: z.boolean().optional(),
  /** With `resumed`: the call the session is in, if any. */
  call: callId.optional(),
});
/** The reply to `challenge`: 32 random bytes, base64url, good for one `hello` on this connection. */
export const challengeReplySchema = z.object({ type: z.literal('challenge'), req, nonce: z.string().max(64) });
/** `more`: further users follow the last one here (ask again with `after`). */
export const usersSchema = z.object({ type: z.literal('users'), req, users: z.array(userInfo), more: z.boolean().optional() });
export const userSchema = z.object({ type: z.literal('user'), req, name: z.string(), status: userStatus });
/**
 * A TURN relay this call may use (RFC 8656), with credentials the server minted for this call
 * and party only (the TURN REST scheme: `username` is `expiry:call:name`, `password` the
 * base64 HMAC-SHA1 of it under the relay's shared secret). `url` is `turn:host:port`.
 */
export const turnSchema = z.object({
  url: z.string().max(256),
  username: z.string().max(256),
  password: z.string().max(128),
  /** Seconds the credentials stay valid. */
  ttl: z.number().int().positive(),
});
export type TurnOffer = z.infer<typeof turnSchema>;
export const ringingSchema = z.object({ type: z.literal('ringing'), req, call: callId, to: z.string(), turn: turnSchema.optional() });
export const incomingSchema = z.object({ type: z.literal('incoming'), call: callId, from: z.string(), offer: body, turn: turnSchema.optional() });
export const acceptedSchema = z.object({ type: z.literal('accepted'), call: callId, answer: body });
export const rejectedSchema = z.object({ type: z.literal('rejected'), call: callId, reason: endReason, cause: failCause.optional() });
export const endedSchema = z.object({
  type: z.literal('ended'),
  call: callId,
  by: z.string().optional(),
  reason: endReason,
  cause: failCause.optional(),
});
export const remoteCandidateSchema = z.object({
  type: z.literal('candidate'),
  call: callId,
  from: z.string(),
  candidate: body,
});
/** The other party of your call lost its connection to the server; its grace runs (the media may go on). */
export const peerReconnectingSchema = z.object({ type: z.literal('peer_reconnecting'), call: callId, name: z.string() });
/** The other party is back within its grace. */
export const peerReconnectedSchema = z.object({ type: z.literal('peer_reconnected'), call: callId, name: z.string() });
export const okSchema = z.object({ type: z.literal('ok'), req });
export const pongSchema = z.object({ type: z.literal('pong'), req });
export const errorSchema = z.object({
  type: z.literal('error'),
  req,
  code: z.enum(ERROR_CODES),
  message: z.string(),
  /** With `rate_limited`: how long to wait before trying again. */
  retryAfterMs: z.number().int().nonnegative().optional(),
});

export const serverMessageSchema = z.discriminatedUnion('type', [
  welcomeSchema,
  challengeReplySchema,
  usersSchema,
  userSchema,
  ringingSchema,
  incomingSchema,
  acceptedSchema,
  rejectedSchema,
  endedSchema,
  remoteCandidateSchema,
  peerReconnectingSchema,
  peerReconnectedSchema,
  okSchema,
  pongSchema,
  errorSchema,
  ...roomServerSchemas,
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;
export type ServerMessageType = ServerMessage['type'];
export type ServerMessageOf<T extends ServerMessageType> = Extract<ServerMessage, { type: T }>;
export type UserStatus = z.infer<typeof userStatus>;
export type UserInfo = z.infer<typeof userInfo>;
export type ErrorMessage = z.infer<typeof errorSchema>;

export function isValidName(n: string): boolean {
  return NAME_PATTERN.test(n);
}

export type ParseResult<T> = { ok: true; msg: T } | { ok: false; code: 'bad_request' | 'too_large'; message: string; req?: string | number };

/**
 * Parses one line into a validated message of the given union, with a readable reason when it is
 * not one. `quick` may vouch for the commonest messages first (see quick-parse.ts); zod decides the rest. Never throws: depth is bounded on the text before parsing, and anything unforeseen
 * below is a refusal, not an exception.
 */
function parseWith<T>(line: string, schemas: Record<string, z.ZodType>, quick?: (raw: Record<string, unknown>, chars: number) => T | undefined): ParseResult<T> {
  // A line no longer than the bound cannot nest deeper than it (pings, say): no scan needed.
  if (line.length > MAX_JSON_DEPTH && nestsDeeperThan(line, MAX_JSON_DEPTH)) {
    return { ok: false, code: 'too_large', message: `nested deeper than ${MAX_JSON_DEPTH} levels` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, code: 'bad_request', message: 'invalid JSON' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, code: 'bad_request', message: 'a message must be a JSON object' };
  }
  const obj = raw as Record<string, unknown>;
  const fast = quick?.(obj, line.length);
  if (fast !== undefined) return { ok: true, msg: fast };
  const r = validReq(obj.req);
  const t = obj.type;
  if (typeof t !== 'string') return { ok: false, code: 'bad_request', message: 'missing "type"', req: r };
  const schema = Object.prototype.hasOwnProperty.call(schemas, t) ? schemas[t] : undefined;
  if (!schema) return { ok: false, code: 'bad_request', message: `unknown type "${clip(t)}"`, req: r };
  let res;
  try {
    res = schema.safeParse(obj);
  } catch {
    return { ok: false, code: 'bad_request', message: `${t}: could not be read`, req: r };
  }
  if (!res.success) {
    const issue = res.error.issues[0];
    const where = issue.path.length ? clip(issue.path.join('.')) : t;
    const tooLarge = issue.code === 'custom' && issue.params?.tooLarge === true;
    // zod's enum messages list every value: with the error codes grown, that ran past a line's worth.
    const what = issue.message.length > 200 ? issue.message.slice(0, 200) + '…' : issue.message;
    return { ok: false, code: tooLarge ? 'too_large' : 'bad_request', message: `${t}: ${where}: ${what}`, req: r };
  }
  return { ok: true, msg: res.data as T };
}

/** The request id to echo in a refusal: only one that is itself valid, so a refusal is never larger than its cause. */
function validReq(v: unknown): string | number | undefined {
  if (typeof v === 'string') return v.length <= MAX_REQ_CHARS ? v : undefined;
  return Number.isSafeInteger(v) ? (v as number) : undefined;
}

function clip(s: string): string {
  return s.length > 40 ? s.slice(0, 40) + '…' : s;
}

export function parseClientMessage(line: string): ParseResult<ClientMessage> {
  return parseWith<ClientMessage>(line, clientMessageSchemas, quickClientMessage);
}

/** Each message's schema by its `type`, for one lookup instead of trying every member. */
function byType(union: { options: readonly { shape: { type: { value: string } } }[] }): Record<string, z.ZodType> {
  return Object.fromEntries(union.options.map((s) => [s.shape.type.value, s as unknown as z.ZodType]));
}
const clientMessageSchemas = byType(clientMessageSchema);
const serverMessageSchemas = byType(serverMessageSchema);
export function parseServerMessage(line: string): ParseResult<ServerMessage> {
  return parseWith<ServerMessage>(line, serverMessageSchemas);
}
