/** Messages between bench/relay.ts and its children (one reply per request, as in bench/signaling). */

export type RelayKind = 'parley' | 'coturn';

/** The relay under test, as the generator reaches it. */
export type RelayTarget =
  /** parley-server: calls are set up over its signaling port, which hands out the TURN credentials. */
  | { kind: 'parley'; signalingPort: number; pid: number }
  /** coturn: credentials minted here from its shared secret (TURN REST). */
  | { kind: 'coturn'; host: string; port: number; secret: string; pid: number };

/** bench → generator */
export type RelayLoadJob =
  | { id: number; type: 'setup'; target: RelayTarget; calls: number; payloadBytes: number; concurrency: number }
  | { id: number; type: 'step'; pps: number; warmupMs: number; windowMs: number; drainMs: number }
  | { id: number; type: 'release' };

/** bench → parley server child */
export type RelayServerRequest = { id: number; type: 'counters' } | { id: number; type: 'stop' };

export interface SetupResult {
  calls: number;
  allocations: number;
  ms: number;
  /** The ChannelData frame each side sends, bytes (payload + 4-byte header, padded to 4). */
  frameBytes: number;
}

/** One step, over its measured window (after the warm-up). */
export interface StepResult {
  /** The rate asked for, packets/s in total across all allocations. */
  targetPps: number;
  seconds: number;
  /** Packets the generator sent and packets that came out at the far allocation. */
  sent: number;
  received: number;
  /** CPU of the relay process (all threads) and of the generator, µs; null when /proc cannot tell. */
  relayCpuMicros: number | null;
  /** The kernel's part of the relay's CPU (system time), µs. */
  relaySystemMicros: number | null;
  generatorCpuMicros: number;
  /** CPU the whole machine spent (user + nice + system), µs; null off Linux. */
  machineCpuMicros: number | null;
  /** Sends the socket refused (ENOBUFS, EAGAIN…). */
  sendErrors: number;
  /** Packets that arrived during the drain after the window (late or still queued). */
  drained: number;
  /** UDP datagrams the kernel dropped over the window at full receive buffers: the relay's sockets, the generator's; null off Linux. */
  bufferDrops: { relay: number; generator: number } | null;
}

export interface ReadyWithPorts {
  ready: true;
  port: number;
  udpPort: number;
}
