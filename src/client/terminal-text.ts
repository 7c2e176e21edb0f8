/**
 * Text that came from the network, made safe for a terminal: control characters (which can
 * move the cursor, rewrite the screen or retitle the window) and bidirectional overrides
 * (which can make a name read as another) are replaced before anything is shown.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, '\ufffd');
}

/** The same message with every string field (and the users' names) made terminal-safe. */
export function withSafeText<T extends object>(msg: T): T {
  let copy: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(msg)) {
    let safe: unknown = v;
    if (typeof v === 'string') safe = terminalSafe(v);
    else if (k === 'users' && Array.isArray(v)) safe = v.map((u: { name: string }) => ({ ...u, name: terminalSafe(u.name) }));
    if (safe !== v) (copy ??= { ...(msg as Record<string, unknown>) })[k] = safe;
  }
  return (copy as T | undefined) ?? msg;
}
