import { readFileSync } from 'node:fs';

/** Descriptors kept for everything that is not a client connection: listening sockets, UDP, logs, files. */
export const FD_RESERVE = 64;

/**
 * The soft limit on this process's open files where the platform tells it (Linux), else null.
 * Past it, accepting fails with EMFILE, which libuv handles by closing new connections unseen;
 * the server stays below it instead and refuses with a reason and a log line.
 */
export function openFileLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!m || m[1] === 'unlimited') return null;
    return Number(m[1]);
  } catch {
    return null;
  }
}
