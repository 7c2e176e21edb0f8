import type { ChildProcess } from 'node:child_process';

/**
 * Plumbing shared by the sinks that play through a child process (the speaker worker,
 * aplay): a device that aborts or hangs takes only the child with it.
 */

/** Settles an open() once: the first of success, failure or timeout wins; failure kills the child. */
export function openSettler(resolve: () => void, reject: (err: Error) => void, kill: () => void) {
  let timer: NodeJS.Timeout | undefined;
  const s = {
    settled: false,
    /** Arms the timeout that settles with `onTimeout()` (an Error, or undefined for success). */
    after(ms: number, onTimeout: () => Error | undefined): void {
      timer = setTimeout(() => s.settle(onTimeout()), ms);
    },
    settle(err?: Error): void {
      if (s.settled) return;
      s.settled = true;
      clearTimeout(timer);
      if (!err) return resolve();
      kill();
      reject(err);
    },
  };
  return s;
}

/** Ends the child's input and waits for it to play what it holds and exit; kills it if it hangs. */
export function endChild(child: ChildProcess, beforeEnd: () => void = () => undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    beforeEnd();
    child.stdin?.end();
  });
}
