/** Error codes carried by `error` messages. */
export const ERROR_CODES = [
  'bad_request', // malformed line, invalid JSON, unknown type, wrong field type
  'too_large', // line over MAX_LINE_BYTES or body over MAX_BODY_BYTES
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
  'too_many_errors', // final error before disconnect
  'slow_consumer', // final error: pending output passed the cap
  'heartbeat_timeout', // final error: no message within the heartbeat window
  'server_shutdown', // final error: the server is closing
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
] as const;
export type EndReason = (typeof END_REASONS)[number];
