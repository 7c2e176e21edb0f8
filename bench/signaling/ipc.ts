/** Messages between bench.ts and its children (Node's IPC channel, one reply per request). */

/**
 * parley; Socket.IO doing the least the job needs (socketio-min-server.ts); Socket.IO as usually
 * written (socketio-server.ts); the least a Node server does for it on parley's transport (ndjson-min-server.ts).
 */
export type ServerKind = 'parley' | 'socketio-min' | 'socketio' | 'ndjson-min';

/** bench → server child */
export type ServerRequest = { id: number; type: 'stats'; gc: boolean } | { id: number; type: 'stop' };

export interface ServerStats {
  /** Resident set size (after a full GC when asked), bytes. */
  rss: number;
  heapUsed: number;
  /** Registered clients as the server counts them. */
  clients: number;
  /** User + system CPU time since start, µs. */
  cpuMicros: number;
  /** The kernel's part of it (system time), µs. */
  systemMicros: number;
}

/** bench → generator child */
export type LoadJob =
  | { id: number; type: 'hold'; kind: ServerKind; port: number; first: number; count: number; batch: number }
  | { id: number; type: 'release' }
  | { id: number; type: 'pairs'; kind: ServerKind; port: number; pairs: number }
  | { id: number; type: 'calls'; warmupMs: number; durationMs: number };

export interface HoldResult {
  registered: number;
  ms: number;
}

export interface CallsResult {
  /** Set-ups completed in the measured window. */
  setups: number;
  /** Set-ups completed during the whole job, warm-up included. */
  totalSetups: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** The generator's own CPU time during the whole job, µs. */
  cpuMicros: number;
}

/** Any child → bench: the reply to request `id`, or why it failed. */
export type Reply<T> = { id: number; ok: true; value: T } | { id: number; ok: false; error: string };
/** Sent once by a server child when it listens. */
export interface Ready {
  ready: true;
  port: number;
}
