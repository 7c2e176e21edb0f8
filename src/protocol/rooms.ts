import { z } from 'zod';
import { jsonBytes } from './json-bounds';
import { MAX_BODY_BYTES, MAX_REQ_CHARS } from './limits';

/**
 * Room messages (signaling wire format v1, docs/protocol.md "Rooms"). One schema a message; the
 * room's state machine is src/server/rooms/room-state.ts. The server stamps `by`/`from`; rounds
 * are numbered so a stale ack cannot complete a newer offer.
 */

const req = z.union([z.string().max(MAX_REQ_CHARS), z.number().int()]).optional();
/** A room id: 1–40 letters, digits or `._-` (generated ones are three short words joined by `-`). */
export const ROOM_ID_PATTERN = /^[A-Za-z0-9._-]{1,40}$/;
const roomId = z.string().max(64);
const name = z.string().max(256);
const round = z.number().int().nonnegative().max(2 ** 31);
/** Offers and counter-proposals: opaque JSON objects to the server, bounded like call offers. */
const body = z
  .record(z.string(), z.unknown())
  .refine((v) => jsonBytes(v) <= MAX_BODY_BYTES, { message: `larger than ${MAX_BODY_BYTES} bytes`, params: { tooLarge: true } });
const b64url = (max: number) => z.string().max(max).regex(/^[A-Za-z0-9_-]*$/);

/**
 * A member's key for this room: an ephemeral X25519 public key, its Ed25519 identity key and the
 * identity's signature over the room id and the X25519 key (src/media/crypto/sender-keys.ts).
 * The server passes it on unread; members check it and seal their sender keys to it.
 */
export const memberKeySchema = z.object({ key: b64url(64), identity: b64url(64), sig: b64url(128) });
export type MemberKey = z.infer<typeof memberKeySchema>;

// ---- client → server -------------------------------------------------------
/** Creates a room (the id asked for, or a readable one minted) with the sender as its owner. */
export const roomCreateSchema = z.object({ type: z.literal('room.create'), req, room: roomId.optional(), key: memberKeySchema });
/** Joins a room; one that does not exist is created with the joiner as owner. */
export const roomJoinSchema = z.object({ type: z.literal('room.join'), req, room: roomId, key: memberKeySchema });
export const roomLeaveSchema = z.object({ type: z.literal('room.leave'), req, room: roomId });
/** The owner offers the session's media terms to every member: a new round. */
export const roomStartSchema = z.object({ type: z.literal('room.start'), req, room: roomId, offer: body });
export const roomAckSchema = z.object({ type: z.literal('room.ack'), req, room: roomId, round });
/** A refusal of the round's offer; `counter` says what the member could take (required: the server answers bad_request without it). */
export const roomNackSchema = z.object({ type: z.literal('room.nack'), req, room: roomId, round, counter: body.optional() });
/** A member's sender key sealed to one other member (`to`), passed on unread. `epoch` counts the sender's keys. */
export const roomKeySchema = z.object({ type: z.literal('room.key'), req, room: roomId, to: name, epoch: z.number().int().nonnegative().max(2 ** 31), sealed: b64url(512) });

/**
 * A message for one other member's media layer (`to`): in a mesh room, its ICE credentials and
 * candidates for the pair the two share. Opaque to the server, bounded like offers.
 */
export const roomSignalSchema = z.object({ type: z.literal('room.signal'), req, room: roomId, to: name, body });

export const roomClientSchemas = [roomCreateSchema, roomJoinSchema, roomLeaveSchema, roomStartSchema, roomAckSchema, roomNackSchema, roomKeySchema, roomSignalSchema] as const;

// ---- server → client -------------------------------------------------------
export const roomMemberSchema = z.object({ name: z.string(), key: memberKeySchema });
export type RoomMember = z.infer<typeof roomMemberSchema>;
export const roomPhaseSchema = z.enum(['open', 'negotiating', 'running']);
export type RoomPhase = z.infer<typeof roomPhaseSchema>;
/**
 * Where a member's media goes in a room: the server's forwarder, on its UDP port. The member
 * proves itself with a STUN Binding request carrying `username` and MESSAGE-INTEGRITY under
 * `password` (short-term credentials, RFC 8489 §9.1); media from that address is then copied to
 * the room's other members, unchanged.
 */
export const forwardSchema = z.object({ port: z.number().int().min(1).max(65535), username: z.string().max(128), password: z.string().max(128) });
export type ForwardOffer = z.infer<typeof forwardSchema>;
const roomView = {
  req,
  room: z.string(),
  owner: z.string(),
  /** Everyone in the room, the sender included, longest present first. */
  members: z.array(roomMemberSchema),
  phase: roomPhaseSchema,
  /** The current round and its offer, while negotiating or running. */
  round: round.optional(),
  offer: body.optional(),
  forward: forwardSchema.optional(),
};
export const roomCreatedSchema = z.object({ type: z.literal('room.created'), ...roomView });
export const roomJoinedSchema = z.object({ type: z.literal('room.joined'), ...roomView, created: z.boolean() });
export const memberJoinedSchema = z.object({ type: z.literal('room.member_joined'), room: z.string(), name: z.string(), key: memberKeySchema });
/** `owner`: the owner from now on (a new one when the owner was who left). */
export const memberLeftSchema = z.object({ type: z.literal('room.member_left'), room: z.string(), name: z.string(), owner: z.string() });
export const memberDisconnectedSchema = z.object({ type: z.literal('room.member_disconnected'), room: z.string(), name: z.string(), owner: z.string() });
export const roomOfferSchema = z.object({ type: z.literal('room.offer'), room: z.string(), round, by: z.string(), offer: body });
export const roomAckedSchema = z.object({ type: z.literal('room.acked'), room: z.string(), round, by: z.string() });
export const roomNackedSchema = z.object({ type: z.literal('room.nacked'), room: z.string(), round, by: z.string(), counter: body });
export const roomAllAcceptedSchema = z.object({ type: z.literal('room.all_accepted'), room: z.string(), round, offer: body });
export const roomKeyPushSchema = z.object({ type: z.literal('room.key'), room: z.string(), from: z.string(), epoch: z.number().int().nonnegative(), sealed: z.string() });
export const roomSignalPushSchema = z.object({ type: z.literal('room.signal'), room: z.string(), from: z.string(), body: z.record(z.string(), z.unknown()) });

export const roomServerSchemas = [
  roomCreatedSchema,
  roomJoinedSchema,
  memberJoinedSchema,
  memberLeftSchema,
  memberDisconnectedSchema,
  roomOfferSchema,
  roomAckedSchema,
  roomNackedSchema,
  roomAllAcceptedSchema,
  roomKeyPushSchema,
  roomSignalPushSchema,
] as const;
