/**
 * Waiting in tests: for an event, or for a condition to hold. Each waits as long as it must on
 * a busy machine; the timeout is only the bound that turns a hang into a failure.
 */
import type { EventEmitter } from 'node:events';

const DEFAULT_TIMEOUT_MS = 15_000;

/** Resolves with the event's arguments the first time `emitter` emits `event`. */
export function waitFor<T extends unknown[] = unknown[]>(
  emitter: EventEmitter | NodeJS.EventEmitter,
  event: string,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onEvent = (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args as T);
    };
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for "${event}"`));
    }, timeoutMs);
    emitter.once(event, onEvent);
  });
}

/**
 * Resolves with the first truthy value `probe` returns, checking every `everyMs`; for state that
 * has no event (a file growing, a process's output, a counter in another process).
 */
export async function waitUntil<T>(
  probe: () => T | Promise<T>,
  what: string,
  timeoutMs = DEFAULT_TIMEOUT_MS,
  everyMs = 25,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await delay(everyMs);
  }
}

/** Lets time pass; only for pacing a probe or a load, never as synchronisation. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
