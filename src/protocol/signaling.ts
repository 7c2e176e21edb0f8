import { s, type Infer, type Schema } from './schema';
import { END_REASONS, ERROR_CODES, FAIL_CAUSES } from './errors';
import { body, name, req } from './fields';
import { nestsDeeperThan } from './json-bounds';
import { MAX_JSON_DEPTH, MAX_REQ_CHARS, NAME_PATTERN } from './limits';
import { roomClientSchemas, roomServerSchemas } from './rooms';

/**
 * Signaling wire format v1: one JSON object per line. One schema a message; the
 * TypeScript types are inferred from them. docs/protocol.md is the prose contract.
 */

const callId = s.string().min(1).max(64);
const endReason = s.enum(END_REASONS);
const failCause = s.enum(FAIL_CAUSES);
export const userStatus = s.enum(['idle', 'ringing', 'in-call']);

// ---- client → server -------------------------------------------------------
/**
 * `identity`: the client's Ed25519 key and its signature over `helloProof(nonce, name)`, with the
 * nonce of this connection's last `challenge` (see src/protocol/name-proof.ts). Servers that
 * claim names (`--names claim`) bind a name to the first key that proves it; others ignore it.
 */
const identityProof = s.object({ key: s.string().max(64), sig: s.string().max(128) });
/** `resume`: the token of an earlier `welcome`, to take that session back (see docs/protocol.md, Resuming). */
export const helloSchema = s.object({
  type: s.literal('hello'),
  req,
  version: s.number().int(),
  name,
  identity: identityProof.optional(),
  resume: s.string().max(64).optional(),
});
/** Asks for a fresh nonce to sign in the next `hello`; allowed before registering. */
export const challengeSchema = s.object({ type: s.literal('challenge'), req });
/** One page of the users online, by name; `after` is the last name of the previous page. */
export const listSchema = s.object({ type: s.literal('list'), req, after: name.optional(), limit: s.number().int().min(1).optional() });
export const lookupSchema = s.object({ type: s.literal('lookup'), req, name });
export const callSchema = s.object({ type: s.literal('call'), req, to: name, offer: body });
export const answerSchema = s.object({
  type: s.literal('answer'),
  req,
  call: callId,
  accept: s.boolean(),
  answer: body.optional(),
  reason: s.enum(['declined', 'busy', 'incompatible', 'failed']).optional(),
  /** With reason `failed`: what failed. */
  cause: failCause.optional(),
});
export const cancelSchema = s.object({ type: s.literal('cancel'), req, call: callId });
export const candidateSchema = s.object({ type: s.literal('candidate'), req, call: callId, candidate: body });
export const hangupSchema = s.object({
  type: s.literal('hangup'),
  req,
  call: callId,
  reason: s.enum(['hangup', 'failed']).optional(),
  /** With reason `failed`: what failed. */
  cause: failCause.optional(),
});
export const pingSchema = s.object({ type: s.literal('ping'), req });
/** Leaving for good: the name is freed at once, without the grace a dropped connection gets. */
export const byeSchema = s.object({ type: s.literal('bye'), req });

export const clientMessageSchema = s.typedUnion([
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
export type ClientMessage = Infer<typeof clientMessageSchema>;
export type ClientMessageType = ClientMessage['type'];
export type ClientMessageOf<T extends ClientMessageType> = Extract<ClientMessage, { type: T }>;

// ---- server → client -------------------------------------------------------
const userInfo = s.object({ name: s.string(), status: userStatus });
export const welcomeSchema = s.object({
  type: s.literal('welcome'),
  req,
  id: s.string(),
  name: s.string(),
  udpPort: s.number().int(),
  version: s.number().int(),
  /** The token a later `hello` presents to take this session back after a dropped connection. */
  resume: s.string().max(64).optional(),
  /** This `hello` took back an earlier session (its name, its call) rather than starting one. */
  resumed: s.boolean().optional(),
  /** With `resumed`: the call the session is in, if any. */
  call: callId.optional(),
});
/** The reply to `challenge`: 32 random bytes, base64url, good for one `hello` on this connection. */
export const challengeReplySchema = s.object({ type: s.literal('challenge'), req, nonce: s.string().max(64) });
/** `more`: further users follow the last one here (ask again with `after`). */
export const usersSchema = s.object({ type: s.literal('users'), req, users: s.array(userInfo), more: s.boolean().optional() });
export const userSchema = s.object({ type: s.literal('user'), req, name: s.string(), status: userStatus });
/**
 * A TURN relay this call may use (RFC 8656), with credentials the server minted for this call
 * and party only (the TURN REST scheme: `username` is `expiry:call:name`, `password` the
 * base64 HMAC-SHA1 of it under the relay's shared secret). `url` is `turn:host:port`.
 */
export const turnSchema = s.object({
  url: s.string().max(256),
  username: s.string().max(256),
  password: s.string().max(128),
  /** Seconds the credentials stay valid. */
  ttl: s.number().int().positive(),
});
export type TurnOffer = Infer<typeof turnSchema>;
export const ringingSchema = s.object({ type: s.literal('ringing'), req, call: callId, to: s.string(), turn: turnSchema.optional() });
export const incomingSchema = s.object({ type: s.literal('incoming'), call: callId, from: s.string(), offer: body, turn: turnSchema.optional() });
export const acceptedSchema = s.object({ type: s.literal('accepted'), call: callId, answer: body });
export const rejectedSchema = s.object({ type: s.literal('rejected'), call: callId, reason: endReason, cause: failCause.optional() });
export const endedSchema = s.object({
  type: s.literal('ended'),
  call: callId,
  by: s.string().optional(),
  reason: endReason,
  cause: failCause.optional(),
});
export const remoteCandidateSchema = s.object({
  type: s.literal('candidate'),
  call: callId,
  from: s.string(),
  candidate: body,
});
/** The other party of your call lost its connection to the server; its grace runs (the media may go on). */
export const peerReconnectingSchema = s.object({ type: s.literal('peer_reconnecting'), call: callId, name: s.string() });
/** The other party is back within its grace. */
export const peerReconnectedSchema = s.object({ type: s.literal('peer_reconnected'), call: callId, name: s.string() });
export const okSchema = s.object({ type: s.literal('ok'), req });
export const pongSchema = s.object({ type: s.literal('pong'), req });
export const errorSchema = s.object({
  type: s.literal('error'),
  req,
  code: s.enum(ERROR_CODES),
  message: s.string(),
  /** With `rate_limited`: how long to wait before trying again. */
  retryAfterMs: s.number().int().nonnegative().optional(),
});

export const serverMessageSchema = s.typedUnion([
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
export type ServerMessage = Infer<typeof serverMessageSchema>;
export type ServerMessageType = ServerMessage['type'];
export type ServerMessageOf<T extends ServerMessageType> = Extract<ServerMessage, { type: T }>;
export type UserStatus = Infer<typeof userStatus>;
export type UserInfo = Infer<typeof userInfo>;
export type ErrorMessage = Infer<typeof errorSchema>;

export function isValidName(n: string): boolean {
  return NAME_PATTERN.test(n);
}

export type ParseResult<T> = { ok: true; msg: T } | { ok: false; code: 'bad_request' | 'too_large'; message: string; req?: string | number };

/**
 * Parses one line into a validated message of the given union, with a readable reason when it is
 * not one. Never throws: depth is bounded on the text before parsing, and anything unforeseen
 * below is a refusal, not an exception.
 */
function parseWith<T>(line: string, schemas: ReadonlyMap<string, Schema<unknown>>): ParseResult<T> {
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
  const t = obj.type;
  if (typeof t !== 'string') return { ok: false, code: 'bad_request', message: 'missing "type"', req: validReq(obj.req) };
  const schema = schemas.get(t);
  if (!schema) return { ok: false, code: 'bad_request', message: `unknown type "${clip(t)}"`, req: validReq(obj.req) };
  let res;
  try {
    res = schema.safeParse(obj, { sourceChars: line.length });
  } catch {
    return { ok: false, code: 'bad_request', message: `${t}: could not be read`, req: validReq(obj.req) };
  }
  if (!res.success) {
    const issue = res.error.issues[0];
    const where = issue.path.length ? clip(issue.path.join('.')) : t;
    // An enum's reason lists every allowed value: it is cut short so a refusal stays small.
    const why = issue.message.length > MAX_REASON_CHARS ? issue.message.slice(0, MAX_REASON_CHARS) + '…' : issue.message;
    return { ok: false, code: issue.tooLarge ? 'too_large' : 'bad_request', message: `${t}: ${where}: ${why}`, req: validReq(obj.req) };
  }
  return { ok: true, msg: res.data as T };
}

/** The request id to echo in a refusal: only one that is itself valid, so a refusal is never larger than its cause. */
function validReq(v: unknown): string | number | undefined {
  if (typeof v === 'string') return v.length <= MAX_REQ_CHARS ? v : undefined;
  return Number.isSafeInteger(v) ? (v as number) : undefined;
}

/** The longest reason a refusal quotes from the validator. */
const MAX_REASON_CHARS = 200;

function clip(s: string): string {
  return s.length > 40 ? s.slice(0, 40) + '…' : s;
}

export function parseClientMessage(line: string): ParseResult<ClientMessage> {
  return parseWith<ClientMessage>(line, clientMessageSchema.byType);
}

export function parseServerMessage(line: string): ParseResult<ServerMessage> {
  return parseWith<ServerMessage>(line, serverMessageSchema.byType);
}
