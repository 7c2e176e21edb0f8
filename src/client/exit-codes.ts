/**
 * The exit codes of `parley`, one per way a run can end, so a script can tell them apart.
 * docs/cli.md lists the same table; call-reasons.ts says which reason leads to which.
 */
export const EXIT = {
  ok: 0,
  /** Audio could not start (an input file that can't be read, a device that won't open) or another failure. */
  failed: 1,
  /** Bad command line. */
  usage: 2,
  /** The server could not be reached. */
  unreachable: 3,
  /** The server refused the name (taken or invalid). */
  nameRejected: 4,
  /** Nobody of that name is online. */
  notFound: 5,
  declined: 6,
  busy: 7,
  /** Nobody answered before the ring timeout. */
  noAnswer: 8,
  /** No common codec, or no network path for the audio. */
  incompatible: 9,
  /** The server connection dropped, or the other side vanished mid-call. */
  connectionLost: 10,
  /** The server refused: too many calls or requests in a short time; try again later. */
  rateLimited: 11,
  /** The peer's identity key changed (or its media key is not signed by it): refused. */
  identity: 12,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
