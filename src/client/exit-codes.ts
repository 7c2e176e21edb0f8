/**
 * The exit codes of `parley`, one per way a run can end, so a script can tell them apart.
 * docs/cli.md lists the same table.
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
  /** No common codec, or the media link could not be set up. */
  incompatible: 9,
  /** The server connection dropped, or the other side vanished mid-call. */
  connectionLost: 10,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit code for a call that did not connect, from its failure reason. */
export function exitCodeForCallFailure(reason: string): ExitCode {
  switch (reason) {
    case 'not_found':
    case 'offline':
      return EXIT.notFound;
    case 'declined':
      return EXIT.declined;
    case 'busy':
      return EXIT.busy;
    case 'timeout':
      return EXIT.noAnswer;
    case 'incompatible':
    case 'no_media':
      return EXIT.incompatible;
    case 'peer_gone':
    case 'disconnected':
      return EXIT.connectionLost;
    case 'cancelled':
      return EXIT.ok;
    default:
      return EXIT.failed;
  }
}

/** The exit code for a call that connected, from how it ended. */
export function exitCodeForCallEnd(reason: string, byMe: boolean): ExitCode {
  return byMe || reason === 'hangup' ? EXIT.ok : exitCodeForCallFailure(reason);
}
