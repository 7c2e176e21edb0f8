/** Wire limits shared by server and client. */
export const PROTOCOL_VERSION = 1;
/** A signaling line longer than this is refused (bytes, without the newline). */
export const MAX_LINE_BYTES = 64 * 1024;
/** Offer, answer and candidate bodies are opaque to the server up to this size (UTF-8 bytes of their JSON). */
export const MAX_BODY_BYTES = 16 * 1024;
/** Objects and arrays nested deeper than this anywhere in a message are refused before any recursive work. */
export const MAX_JSON_DEPTH = 32;
/** A `req` is a string of at most this many characters, or a safe integer. */
export const MAX_REQ_CHARS = 64;
/** The most users one `users` page holds; a server may hold fewer. */
export const MAX_LIST_PAGE = 256;
/** Bad lines in a row before the server hangs up on a client. */
export const MAX_BAD_LINES = 20;
/** Pending output to one client before it is dropped as a slow consumer. */
export const MAX_PENDING_OUTPUT_BYTES = 1024 * 1024;
export const NAME_PATTERN = /^[A-Za-z0-9._-]{1,32}$/;
