import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import type dgram from 'node:dgram';
import { MAX_PENDING_OUTPUT_BYTES } from '../protocol';
import { CallBroker } from './call-broker';
import { systemClock, type Clock, type ClockTimer } from './clock';
import { Connection, formatRemote, type ConnectionEnv, type ConnectionHooks } from './connection';
import { ConnectionGate } from './connection-gate';
import { Dispatcher } from './dispatcher';
import { NameClaims } from './name-claims';
import { FD_RESERVE, openFileLimit } from './fd-limit';
import { resolveLimits, type ServerLimits } from './limits';
import { createLogger, silentLogger, type Logger, type LogLevel } from './logger';
import { MemoryRegistry, type Registry } from './registry';
import { DEFAULT_RESUME_GRACE_MS, Resumption } from './resumption';
import { Throttle } from './throttle';
import { startUdpService } from './udp-service';
import type { RelayCounters } from './turn/counters';
import { DEFAULT_TURN_TTL_S, wallSeconds } from './turn/credentials';
import { SecretIssuer, type TurnIssuer } from './turn/issuer';
import { resolveRelayLimits, type RelayLimits } from './turn/relay-policy';
import { TurnRelay } from './turn/relay-server';
import { resolveForwardLimits, type ForwardLimits } from './rooms/forward-limits';
import { Forwarder, type ForwardCounters } from './rooms/forwarder';
import { RoomBroker } from './rooms/room-broker';

/** Bytes a paused socket takes in before it stops reading (Node's default is 16 KiB). */
const READ_HIGH_WATER_MARK = 64;

export interface ServerOptions {
  /** Address to listen on (TCP and UDP); an IPv6 one (`::1`, `::`) works too. Default 0.0.0.0. */
  host?: string;
  /** TCP port; 0 picks a free one. */
  port?: number;
  /** UDP port for STUN answers; defaults to the TCP port (a free one when that is 0). */
  udpPort?: number;
  ringTimeoutMs?: number;
  /** A client that sends nothing (not even ping) for this long is disconnected. */
  heartbeatTimeoutMs?: number;
  maxPendingOutputBytes?: number;
  /** What one client may cost and how many may connect; see ServerLimits for each and its default. */
  limits?: Partial<ServerLimits>;
  /** Time for the ring timer, the sweep and every limit; real time by default (tests drive their own). */
  clock?: Clock;
  logger?: Logger;
  logLevel?: LogLevel;
  logJson?: boolean;
  registry?: Registry;
  /**
   * Offer a TURN relay to the parties of each call (default true). Without `turnUrl`, the
   * embedded relay runs on the UDP port; false (`--no-relay`) offers none and runs none.
   */
  relay?: boolean;
  /** An external relay (`turn:host:port`, e.g. coturn with `use-auth-secret`); needs `turnSecret`. The embedded relay is then off. */
  turnUrl?: string;
  /** The TURN REST shared secret; random per process when the embedded relay runs without one. */
  turnSecret?: string;
  /** Seconds the minted credentials may start an allocation (default 600). */
  turnTtlS?: number;
  /** Caps of the embedded relay; see RelayLimits for each and its default. */
  relayLimits?: Partial<RelayLimits>;
  /**
   * Run the room forwarder on the UDP port (default: where the embedded relay could run — an
   * IPv4 host or `::` — unless `relay` is false). Without it, rooms work for signaling and keys,
   * and members send media to each other directly.
   */
  forward?: boolean;
  /** Caps of the room forwarder; see ForwardLimits for each and its default. */
  forwardLimits?: Partial<ForwardLimits>;
  /** `claim`: a name is bound to the first identity key that registers it (src/server/name-claims.ts). Default `open`. */
  names?: 'open' | 'claim';
  /**
   * How long a session whose connection dropped keeps its name (and a live call its record) for
   * a `hello` with its resume token; default 30 s, 0 frees the name at once.
   */
  resumeGraceMs?: number;
  /**
   * Signaling over TLS: the certificate chain and key (PEM). With `port`, TLS listens there and
   * plaintext stays on `port` above; without, the main port speaks TLS only.
   */
  tls?: { cert: string | Buffer; key: string | Buffer; port?: number };
}

export interface RunningServer {
  readonly host: string;
  readonly port: number;
  readonly udpPort: number;
  /** The TLS port: the main port when it speaks TLS only, null without TLS. */
  readonly tlsPort: number | null;
  /** Registered clients right now (those whose resume grace runs included). */
  readonly clients: number;
  /** Of those, the ones whose connection went and whose name is held for their resume grace. */
  readonly held: number;
  /** Open TCP connections right now, registered or not. */
  readonly connections: number;
  /** The embedded relay's counters, or null when it does not run. */
  readonly relay: RelayCounters | null;
  /** Rooms and members now, and what the room forwarder has done (`forwarder` null when it does not run). */
  readonly rooms: RoomCounters;
  /** Tells every client `server_shutdown`, then closes. */
  close(): Promise<void>;
}

export interface RoomCounters {
  rooms: number;
  members: number;
  /** Members whose forwarder registration is live. */
  registered: number;
  forwarder: ForwardCounters | null;
}

/** A closing connection whose peer has not closed its side by then is cut off. */
const CLOSING_GRACE_MS = 2000;

/** A TLS handshake that has not finished by then is dropped (Node's default is 120 s). */
const TLS_HANDSHAKE_MS = 10_000;

export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const host = opts.host ?? '0.0.0.0';
  const log = opts.logger ?? (opts.logLevel ? createLogger({ level: opts.logLevel, json: opts.logJson }) : silentLogger);
  const clock = opts.clock ?? systemClock;
  const maxPendingOutput = opts.maxPendingOutputBytes ?? MAX_PENDING_OUTPUT_BYTES;
  // Relays stop well before a receiver could be cut off as a slow consumer, whatever the options say.
  const limits = resolveLimits(opts.limits, maxPendingOutput);
  const heartbeatMs = opts.heartbeatTimeoutMs ?? 60_000;
  const registry = opts.registry ?? new MemoryRegistry();
  if (opts.turnUrl !== undefined && !opts.turnSecret) throw new Error('turnUrl needs turnSecret: the secret the external relay checks credentials with');
  if (opts.turnUrl !== undefined && !/^turns?:[^\s]{1,250}$/.test(opts.turnUrl)) throw new Error(`not a TURN URL: ${opts.turnUrl}`);
  const offerRelay = opts.relay !== false && (opts.turnUrl !== undefined || TurnRelay.supports(host));
  const embedded = offerRelay && opts.turnUrl === undefined;
  const turnSecret = opts.turnSecret ?? randomBytes(24).toString('base64');
  const nowS = wallSeconds(clock);
  let relay: TurnRelay | null = null;
  let udp: dgram.Socket | null = null;
  // Read once it is bound: `address()` asks the kernel (getsockname) on every call, and the
  // relay consults the port for every packet it forwards.
  let boundUdpPort = 0;
  const udpPortNow = () => boundUdpPort;
  const issuer: TurnIssuer | undefined = offerRelay
    ? new SecretIssuer({ secret: turnSecret, ttlS: opts.turnTtlS ?? DEFAULT_TURN_TTL_S, nowS, url: opts.turnUrl, udpPort: udpPortNow })
    : undefined;
  const broker = new CallBroker({
    ringTimeoutMs: opts.ringTimeoutMs ?? 30_000,
    log,
    clock,
    limits,
    turn: issuer,
    ended: (id) => relay?.endCall(id),
    away: (s) => resumption.isAway(s),
    inRoom: (s) => rooms.inRoom(s),
  });
  const forwarder =
    (opts.forward ?? opts.relay !== false) && TurnRelay.supports(host)
      ? new Forwarder({
          clock,
          log,
          limits: resolveForwardLimits(opts.forwardLimits),
          udpPort: udpPortNow,
          send: (packet, p, address) => udp?.send(packet, p, address),
        })
      : null;
  const rooms = new RoomBroker({ limits, clock, log, forwarder: forwarder ?? undefined });
  const connections = new Set<Connection>();
  const throttle = new Throttle(clock);
  const env: ConnectionEnv = {
    clock,
    throttle,
    requests: limits.requests,
    maxPendingOutput,
  };
  const fileLimit = openFileLimit();
  const openFiles = fileLimit === null ? Infinity : Math.max(1, fileLimit - FD_RESERVE);
  const gate = new ConnectionGate({ total: limits.maxConnections, perAddress: limits.maxConnectionsPerAddress, openFiles }, clock, log);
  const resumption: Resumption = new Resumption(opts.resumeGraceMs ?? DEFAULT_RESUME_GRACE_MS, clock, (session) => dispatcher.expire(session, 'resume_grace'));
  const dispatcher = new Dispatcher(registry, broker, log, clock, limits, udpPortNow, resumption, new NameClaims(opts.names === 'claim'), rooms, issuer);
  const hooks: ConnectionHooks = {
    line: (conn, ev) => dispatcher.handle(conn, ev),
    leave: (conn, session, why) => dispatcher.left(session, why, conn.remote),
  };

  const accept = (socket: net.Socket) => {
    socket.on('error', (err) => log.debug('socket error', { remote: formatRemote(socket.remoteAddress ?? '', socket.remotePort), error: err.message }));
    const address = socket.remoteAddress ?? '';
    const refusal = gate.admit(address, formatRemote(address, socket.remotePort));
    if (refusal) {
      // Told why, then closed as soon as that is written; never read.
      socket.write(JSON.stringify({ type: 'error', code: 'too_many_connections', message: ConnectionGate.describe(refusal) }) + '\n');
      socket.destroySoon();
      return;
    }
    socket.setNoDelay(true);
    const conn = new Connection(socket, hooks, env);
    connections.add(conn);
    socket.on('data', (chunk: Buffer) => {
      try {
        conn.receive(chunk);
      } catch (err) {
        // Handling is guarded line by line; this is the last line of defence for the process.
        log.error('failed reading from a client', { remote: conn.remote, error: (err as Error)?.stack ?? String(err) });
        conn.leave('server_error');
        socket.destroy();
      }
    });
    socket.on('close', () => {
      connections.delete(conn);
      gate.release(address);
      conn.leave('disconnected');
    });
  };
  // A paused socket (over its budget) stops reading from the kernel once it buffers this much, so
  // what a peer sends meanwhile waits there, joined, rather than as one buffer per segment here.
  const plain = () => net.createServer({ highWaterMark: READ_HIGH_WATER_MARK }, accept);
  // TLS connections are admitted once the handshake is done: the refusal is a line of the protocol.
  const secure = (t: NonNullable<ServerOptions['tls']>) => {
    const s = tls.createServer({ cert: t.cert, key: t.key, handshakeTimeout: TLS_HANDSHAKE_MS, highWaterMark: READ_HIGH_WATER_MARK }, accept);
    s.on('tlsClientError', (err, socket) => log.debug('TLS handshake failed', { remote: formatRemote(socket.remoteAddress ?? '', socket.remotePort), error: err.message }));
    return s;
  };
  const server = opts.tls && opts.tls.port === undefined ? secure(opts.tls) : plain();
  const tlsServer = opts.tls?.port !== undefined ? secure(opts.tls) : null;
  const listeners = tlsServer ? [server, tlsServer] : [server];
  try {
    await listen(server, opts.port ?? 7100, host);
    if (tlsServer) await listen(tlsServer, opts.tls!.port!, host);
  } catch (err) {
    for (const l of listeners) l.close();
    throw err;
  }
  // Listening: later errors are about accepting (EMFILE, ENFILE), and the server goes on.
  let lastAcceptError = -Infinity;
  for (const l of listeners) {
    l.on('error', (err: NodeJS.ErrnoException) => {
      const now = clock.now();
      if (now - lastAcceptError < 1000) return;
      lastAcceptError = now;
      log.error('cannot accept connections', { error: err.message, code: err.code, open: gate.open });
    });
  }
  if (openFiles < limits.maxConnections) {
    log.info('connections are capped by the open-file limit (raise it with ulimit -n)', {
      open_file_limit: fileLimit,
      max_connections: openFiles,
    });
  }
  const bound = server.address() as net.AddressInfo;
  const port = bound.port;
  if (embedded) {
    relay = new TurnRelay({
      secret: turnSecret,
      host,
      clock,
      nowS,
      log,
      limits: resolveRelayLimits(opts.relayLimits),
      reply: (packet, p, address) => udp?.send(packet, p, address),
      udpPort: udpPortNow,
      call: (id) => broker.get(id),
      registered: (session) => registry.find(session.name) === session,
    });
  } else if (opts.relay !== false && !offerRelay) {
    log.info('no TURN relay: the embedded relay needs an IPv4 address or :: to listen on', { host });
  }
  try {
    udp = await startUdpService(host, bound.family === 'IPv6' ? 'IPv6' : 'IPv4', opts.udpPort ?? port, log, relay ?? undefined, forwarder ?? undefined);
  } catch (err) {
    for (const l of listeners) l.close();
    throw new Error(`cannot bind UDP port ${opts.udpPort ?? port}: ${(err as Error).message}`);
  }
  const udpPort = udp.address().port;
  boundUdpPort = udpPort;

  // One sweep for everyone, no timer per connection: heartbeats, registration deadlines, closing
  // connections whose peer never closed, and the ring limits' memory.
  const sweepMs = Math.max(50, Math.min(5000, heartbeatMs / 4, limits.registrationTimeoutMs / 4));
  const sweep = () => {
    const now = clock.now();
    const silentSince = now - heartbeatMs;
    const unregisteredSince = now - limits.registrationTimeoutMs;
    for (const c of connections) {
      const s = c.state;
      if (s.phase === 'closing') {
        if (now - s.since >= CLOSING_GRACE_MS) c.socket.destroy();
      } else if (c.lastSeen < silentSince) {
        c.fail('heartbeat_timeout', `nothing heard for ${Math.round(heartbeatMs / 1000)} s`);
      } else if (s.phase === 'anonymous' && c.openedAt <= unregisteredSince) {
        log.info('closed a connection that did not register in time', { remote: c.remote, reason: 'registration_timeout' });
        c.fail('registration_timeout', `no hello within ${Math.round(limits.registrationTimeoutMs / 1000)} s`);
      }
    }
    broker.ringLimits.prune();
    sweepTimer = clock.setTimeout(sweep, sweepMs);
  };
  let sweepTimer: ClockTimer | null = clock.setTimeout(sweep, sweepMs);

  let closing: Promise<void> | null = null;
  return {
    host,
    port,
    udpPort,
    tlsPort: tlsServer ? (tlsServer.address() as net.AddressInfo).port : opts.tls ? port : null,
    get clients() {
      return registry.size;
    },
    get held() {
      return resumption.held;
    },
    get connections() {
      return connections.size;
    },
    get relay() {
      return relay?.counters ?? null;
    },
    get rooms() {
      return { rooms: rooms.size, members: rooms.members, registered: forwarder?.registered ?? 0, forwarder: forwarder?.counters ?? null };
    },
    close() {
      closing ??= (async () => {
        if (sweepTimer) clock.clearTimeout(sweepTimer);
        sweepTimer = null;
        throttle.clear();
        log.info('shutting down', { clients: connections.size });
        const closed = Promise.all(listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
        broker.clear();
        rooms.clear();
        resumption.clear();
        for (const c of connections) c.fail('server_shutdown', 'the server is shutting down');
        const deadline = setTimeout(() => {
          for (const c of connections) c.socket.destroy();
        }, 1000);
        await closed;
        clearTimeout(deadline);
        relay?.close();
        await new Promise<void>((resolve) => udp!.close(() => resolve()));
      })();
      return closing;
    },
  };
}

function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
