import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { PROTOCOL_VERSION } from '../protocol';
import { VERSION } from '../version';
import { clientAddresses, hostPort } from './addresses';
import { DEFAULT_LIMITS } from './limits';
import { createLogger, LOG_LEVELS, type LogLevel } from './logger';
import { DEFAULT_RESUME_GRACE_MS } from './resumption';
import { startServer, type ServerOptions } from './signaling-server';
import { DEFAULT_TURN_TTL_S } from './turn/credentials';
import { DEFAULT_RELAY_LIMITS } from './turn/relay-policy';

const HINT = 'see parley-server --help';

interface Options {
  host: string;
  port: number;
  ringTimeout: number;
  heartbeatTimeout: number;
  registrationTimeout: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  logLevel: LogLevel;
  logJson: boolean;
  relay: boolean;
  turnUrl?: string;
  turnSecret?: string;
  turnTtl: number;
  maxAllocations: number;
  maxRoomMembers: number;
  maxRooms: number;
  forward: boolean;
  names: 'open' | 'claim';
  resumeGraceMs: number;
  tlsCert?: string;
  tlsKey?: string;
  tlsPort?: number;
}

function program(): Command {
  return new Command('parley-server')
    .description('The parley registry and signaling server: names, calls, STUN answers and a TURN relay on UDP.')
    .version(`parley-server ${VERSION} (protocol v${PROTOCOL_VERSION})`, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show this help')
    .addOption(new Option('--host <addr>', 'address to listen on, IPv4 or IPv6 (:: for both)').default('0.0.0.0').env('PARLEY_SERVER_HOST'))
    .addOption(new Option('--port <n>', 'TCP signaling port; the UDP port is the same number (0: any free one)').default(7100).argParser(portNumber).env('PARLEY_SERVER_PORT'))
    .addOption(new Option('--ring-timeout <s>', 'seconds a call rings before it times out').default(30).argParser(seconds))
    .addOption(new Option('--heartbeat-timeout <s>', 'seconds of silence before a client is dropped').default(60).argParser(seconds))
    .addOption(
      new Option('--registration-timeout <s>', 'seconds a connection may stay open without registering a name')
        .default(DEFAULT_LIMITS.registrationTimeoutMs / 1000)
        .argParser(seconds),
    )
    .addOption(new Option('--max-connections <n>', 'open connections in total').default(DEFAULT_LIMITS.maxConnections).argParser(count))
    .addOption(
      new Option('--max-connections-per-address <n>', 'open connections from one IP address').default(DEFAULT_LIMITS.maxConnectionsPerAddress).argParser(count),
    )
    .addOption(
      new Option('--turn-url <url>', 'point clients at an external TURN relay (turn:host:port, e.g. coturn with use-auth-secret) instead of the embedded one; needs --turn-secret').argParser(
        turnUrl,
      ),
    )
    .addOption(
      new Option('--turn-secret <secret>', 'the TURN REST shared secret (coturn: static-auth-secret); without it the embedded relay uses a random one').env(
        'PARLEY_TURN_SECRET',
      ),
    )
    .addOption(new Option('--turn-ttl <s>', 'seconds the per-call relay credentials may start an allocation').default(DEFAULT_TURN_TTL_S).argParser(seconds))
    .addOption(new Option('--max-allocations <n>', 'relay allocations on the embedded relay in total').default(DEFAULT_RELAY_LIMITS.maxAllocations).argParser(count))
    .addOption(new Option('--no-relay', 'offer calls no TURN relay, and run none (nor the room forwarder)'))
    .addOption(new Option('--max-room-members <n>', 'members one room may hold').default(DEFAULT_LIMITS.maxRoomMembers).argParser(count))
    .addOption(new Option('--max-rooms <n>', 'rooms the server holds at once').default(DEFAULT_LIMITS.maxRooms).argParser(count))
    .addOption(new Option('--no-forward', "run no room forwarder on the UDP port: room members send each other media directly"))
    .addOption(new Option('--names <mode>', 'open: any free name; claim: a name stays with the first identity key that registers it').choices(['open', 'claim']).default('open'))
    .addOption(
      new Option('--resume-grace-ms <ms>', "milliseconds a dropped client keeps its name and live call for a reconnect with its resume token (0: none)")
        .default(DEFAULT_RESUME_GRACE_MS)
        .argParser(milliseconds),
    )
    .addOption(new Option('--tls-cert <file>', 'signaling over TLS: the certificate chain (PEM); needs --tls-key').env('PARLEY_SERVER_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', "the certificate's private key (PEM)").env('PARLEY_SERVER_TLS_KEY'))
    .addOption(new Option('--tls-port <n>', 'TLS on this port, plaintext staying on the main port (without it, the main port speaks TLS only)').argParser(portNumber))
    .addOption(new Option('--log-level <level>', 'how much to log').choices(LOG_LEVELS).default('info').env('PARLEY_SERVER_LOG_LEVEL'))
    .addOption(new Option('--log-json', 'log JSON lines instead of readable ones').default(false).env('PARLEY_SERVER_LOG_JSON'))
    .allowExcessArguments(false)
    .showSuggestionAfterError(true)
    .showHelpAfterError(HINT)
    .configureOutput({ outputError: (str, write) => write(oneLine(str)) })
    .exitOverride();
}

export async function main(argv: string[]): Promise<void> {
  let o: Options;
  try {
    o = program().parse(argv, { from: 'user' }).opts<Options>();
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // Help and version exit 0; anything else was a usage error, already printed.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
    return;
  }
  if (o.turnUrl !== undefined && !o.turnSecret) {
    process.stderr.write(`parley-server: --turn-url needs --turn-secret (the relay's shared secret)\n${HINT}\n`);
    process.exitCode = 2;
    return;
  }
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined) || (o.tlsPort !== undefined && o.tlsCert === undefined)) {
    process.stderr.write(`parley-server: TLS needs both --tls-cert and --tls-key (and --tls-port needs them)\n${HINT}\n`);
    process.exitCode = 2;
    return;
  }
  let tls: ServerOptions['tls'];
  if (o.tlsCert !== undefined && o.tlsKey !== undefined) {
    try {
      tls = { cert: readFileSync(o.tlsCert), key: readFileSync(o.tlsKey), port: o.tlsPort };
    } catch (err) {
      process.stderr.write(`parley-server: cannot read the TLS certificate or key: ${(err as Error).message}\n`);
      process.exitCode = 2;
      return;
    }
  }
  const logger = createLogger({ level: o.logLevel, json: o.logJson });
  let server;
  try {
    server = await startServer({
      host: o.host,
      port: o.port,
      ringTimeoutMs: o.ringTimeout * 1000,
      heartbeatTimeoutMs: o.heartbeatTimeout * 1000,
      limits: {
        registrationTimeoutMs: o.registrationTimeout * 1000,
        maxConnections: o.maxConnections,
        maxConnectionsPerAddress: o.maxConnectionsPerAddress,
        maxRoomMembers: o.maxRoomMembers,
        maxRooms: o.maxRooms,
      },
      relay: o.relay,
      forward: o.relay && o.forward,
      turnUrl: o.turnUrl,
      turnSecret: o.turnSecret,
      turnTtlS: o.turnTtl,
      relayLimits: { maxAllocations: o.maxAllocations },
      names: o.names,
      resumeGraceMs: o.resumeGraceMs,
      tls,
      logger,
    });
  } catch (err) {
    process.stderr.write(`parley-server: cannot listen on ${hostPort(o.host, o.port)}: ${(err as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  const turn = !o.relay ? 'no TURN relay' : o.turnUrl ? `TURN relay ${o.turnUrl}` : server.relay ? 'STUN and TURN' : 'STUN';
  const relay = server.rooms.forwarder ? `${turn}, room forwarder` : turn;
  const tlsOnly = server.tlsPort === server.port;
  const tcp = tlsOnly ? `TCP port ${server.port} (TLS only)` : server.tlsPort !== null ? `TCP port ${server.port}, TLS port ${server.tlsPort}` : `TCP port ${server.port}`;
  const tlsFlag = server.tlsPort !== null ? ' --tls (or --ca FILE, or --pin sha256/…)' : '';
  process.stdout.write(
    `parley-server listening on ${tcp} (UDP ${server.udpPort}: ${relay})\n` +
      clientAddresses(server.host)
        .map((h) => `  clients connect with: parley --server ${hostPort(h, server.tlsPort ?? server.port)}${tlsFlag}\n`)
        .join(''),
  );
  const stop = (signal: string) => {
    logger.info('closing', { signal });
    server.close().then(() => process.exit(0));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => stop(signal));
}

/**
 * Commander's error as one line: `error: unknown option '--prot'\n(Did you mean --port?)` →
 * `parley-server: unknown option '--prot' (did you mean --port?)`, and
 * `error: option '--port <n>' argument 'abc' is invalid. not a port…` → `parley-server: --port abc: not a port…`.
 */
function oneLine(str: string): string {
  const text = str
    .trim()
    .replace(/^error: /, '')
    .replace(/\s*\n\(Did you mean (.*)\?\)$/, ' (did you mean $1?)')
    .replace(/^option '(-[^ ']+)[^']*' argument '(.*)' is invalid\. (\w)/s, (_, flag: string, value: string, first: string) => `${flag} ${value}: ${first.toLowerCase()}`)
    .replace(/\s*\n\s*/g, ' ');
  return `parley-server: ${text}\n`;
}

function portNumber(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new InvalidArgumentError('not a port number (0 to 65535)');
  return n;
}

function turnUrl(v: string): string {
  if (!/^turns?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\?transport=(udp|tcp))?$/.test(v)) {
    throw new InvalidArgumentError('not a TURN URL (turn:host:port)');
  }
  return v;
}

function seconds(v: string): number {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('not a number of seconds above 0');
  return n;
}

function milliseconds(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('not a whole number of milliseconds (0 or more)');
  return n;
}

function count(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1) throw new InvalidArgumentError('not a whole number above 0');
  return n;
}
