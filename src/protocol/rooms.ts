import { s, type Infer } from './schema';
import { body, name, req } from './fields';

/**
 * Room messages (signaling wire format v1, docs/protocol.md "Rooms"). One schema a message; the
 * room's state machine is src/server/rooms/room-state.ts. The server stamps `by`/`from`; rounds
 * are numbered so a stale ack cannot complete a newer offer.
 */

/** A room id: 1–40 letters, digits or `._-` (generated ones are three short words joined by `-`). */
export const ROOM_ID_PATTERN = /^[A-Za-z0-9._-]{1,40}$/;
const roomId = s.string().max(64);
const round = s.number().int().nonnegative().max(2 ** 31);
const b64url = (max: number) => s.string().max(max).regex(/^[A-Za-z0-9_-]*$/);

/**
 * A member's key for this room: an ephemeral X25519 public key, its Ed25519 identity key and the
 * identity's signature over the room id and the X25519 key (src/media/crypto/sender-keys.ts).
 * The server passes it on unread; members check it and seal their sender keys to it.
 */
export const memberKeySchema = s.object({ key: b64url(64), identity: b64url(64), sig: b64url(128) });
export type MemberKey = Infer<typeof memberKeySchema>;

// ---- client → server -------------------------------------------------------
/** Creates a room (the id asked for, or a readable one minted) with the sender as its owner. */
export const roomCreateSchema = s.object({ type: s.literal('room.create'), req, room: roomId.optional(), key: memberKeySchema });
/** Joins a room; one that does not exist is created with the joiner as owner. */
export const roomJoinSchema = s.object({ type: s.literal('room.join'), req, room: roomId, key: memberKeySchema });
export const roomLeaveSchema = s.object({ type: s.literal('room.leave'), req, room: roomId });
/** The owner offers the session's media terms to every member: a new round. */
export const roomStartSchema = s.object({ type: s.literal('room.start'), req, room: roomId, offer: body });
export const roomAckSchema = s.object({ type: s.literal('room.ack'), req, room: roomId, round });
/** A refusal of the round's offer; `counter` says what the member could take (required: the server answers bad_request without it). */
export const roomNackSchema = s.object({ type: s.literal('room.nack'), req, room: roomId, round, counter: body.optional() });
/** A member's sender key sealed to one other member (`to`), passed on unread. `epoch` counts the sender's keys. */
export const roomKeySchema = s.object({ type: s.literal('room.key'), req, room: roomId, to: name, epoch: s.number().int().nonnegative().max(2 ** 31), sealed: b64url(512) });

/**
 * A message for one other member's media layer (`to`): in a mesh room, its ICE credentials and
 * candidates for the pair the two share. Opaque to the server, bounded like offers.
 */
export const roomSignalSchema = s.object({ type: s.literal('room.signal'), req, room: roomId, to: name, body });

export const roomClientSchemas = [roomCreateSchema, roomJoinSchema, roomLeaveSchema, roomStartSchema, roomAckSchema, roomNackSchema, roomKeySchema, roomSignalSchema] as const;

// ---- server → client -------------------------------------------------------
export const roomMemberSchema = s.object({ name: s.string(), key: memberKeySchema });
export type RoomMember = Infer<typeof roomMemberSchema>;
export const roomPhaseSchema = s.enum(['open', 'negotiating', 'running']);
export type RoomPhase = Infer<typeof roomPhaseSchema>;
/**
 * Where a member's media goes in a room: the server's forwarder, on its UDP port. The member
 * proves itself with a STUN Binding request carrying `username` and MESSAGE-INTEGRITY under
 * `password` (short-term credentials, RFC 8489 §9.1); media from that address is then copied to
 * the room's other members, unchanged.
 */
export const forwardSchema = s.object({ port: s.number().int().min(1).max(65535), username: s.string().max(128), password: s.string().max(128) });
export type ForwardOffer = Infer<typeof forwardSchema>;
const roomView = {
  req,
  room: s.string(),
  owner: s.string(),
  /** Everyone in the room, the sender included, longest present first. */
  members: s.array(roomMemberSchema),
  phase: roomPhaseSchema,
  /** The current round and its offer, while negotiating or running. */
  round: round.optional(),
  offer: body.optional(),
  forward: forwardSchema.optional(),
};
export const roomCreatedSchema = s.object({ type: s.literal('room.created'), ...roomView });
export const roomJoinedSchema = s.object({ type: s.literal('room.joined'), ...roomView, created: s.boolean() });
export const memberJoinedSchema = s.object({ type: s.literal('room.member_joined'), room: s.string(), name: s.string(), key: memberKeySchema });
/** `owner`: the owner from now on (a new one when the owner was who left). */
export const memberLeftSchema = s.object({ type: s.literal('room.member_left'), room: s.string(), name: s.string(), owner: s.string() });
export const memberDisconnectedSchema = s.object({ type: s.literal('room.member_disconnected'), room: s.string(), name: s.string(), owner: s.string() });
export const roomOfferSchema = s.object({ type: s.literal('room.offer'), room: s.string(), round, by: s.string(), offer: body });
export const roomAckedSchema = s.object({ type: s.literal('room.acked'), room: s.string(), round, by: s.string() });
export const roomNackedSchema = s.object({ type: s.literal('room.nacked'), room: s.string(), round, by: s.string(), counter: body });
export const roomAllAcceptedSchema = s.object({ type: s.literal('room.all_accepted'), room: s.string(), round, offer: body });
export const roomKeyPushSchema = s.object({ type: s.literal('room.key'), room: s.string(), from: s.string(), epoch: s.number().int().nonnegative(), sealed: s.string() });
export const roomSignalPushSchema = s.object({ type: s.literal('room.signal'), room: s.string(), from: s.string(), body: s.anyObject() });

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
