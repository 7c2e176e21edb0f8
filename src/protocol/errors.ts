/** Error codes carried by `error` messages. */
export const ERROR_CODES = [
  'bad_request', // malformed line, invalid JSON, unknown type, wrong field type
  'too_large', // line over MAX_LINE_BYTES, body over MAX_BODY_BYTES, nesting deeper than MAX_JSON_DEPTH
  'unsupported_version',
  'bad_name',
  'name_taken',
  'not_registered', // a request before hello
  'already_registered', // a second hello
  'not_found', // no user of that name online
  'busy', // the callee (or the caller itself) is already ringing or in a call
  'self_call',
  'no_such_call', // unknown call id, or a call the sender is not a party of
  'wrong_state', // e.g. answering a call you placed, cancelling an answered call
  'rate_limited', // too much too fast (calls, relays, candidates); `retryAfterMs` says when to try again, if ever
  'server_error', // the server failed handling this one request; nothing was done
  'too_many_errors', // final error before disconnect
  'slow_consumer', // final error: pending output passed the cap
  'heartbeat_timeout', // final error: no message within the heartbeat window
  'registration_timeout', // final error: no successful hello within the registration window
  'too_many_connections', // final error: the connection is over the server's per-address or total cap
  'server_shutdown', // final error: the server is closing
  'name_claimed', // the name is claimed by another identity key (parley-server --names claim)
  'no_such_room', // a room that does not exist, or one the sender is not a member of
  'room_exists', // room.create with the id of a room that exists (join it instead)
  'room_full', // the room has as many members as the server allows
  'too_many_rooms', // the server holds as many rooms as it allows
  'not_owner', // only the room's owner may start a round
  'bad_room', // a room id that is not 1–40 letters, digits, ".", "_" or "-"
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Why a call ended or was refused (`rejected.reason`, `ended.reason`). */
export const END_REASONS = [
  'declined',
  'busy',
  'incompatible', // no common codec
  'timeout', // nobody answered within the ring timeout
  'cancelled', // the caller gave up before the answer
  'hangup',
  'peer_gone', // the other party disconnected
  'failed', // a side could not go on (see FailCause)
] as const;
export type EndReason = (typeof END_REASONS)[number];

/** What failed when a call ends or is refused with reason `failed`: a code, never free text. */
export const FAIL_CAUSES = [
  'input_device', // the microphone (or input file) would not open, or died
  'output_device', // the speaker (or output file) would not open, or died
  'no_path', // no media path between the two sides
  'identity_changed', // the peer's identity key is not the one remembered for its name
  'bad_signature', // the peer's media key is not signed by the identity key it shows
] as const;
export type FailCause = (typeof FAIL_CAUSES)[number];
