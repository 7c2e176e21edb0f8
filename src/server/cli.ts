import { parseArgs } from 'node:util';
import { PROTOCOL_VERSION } from '../protocol';
import { VERSION } from '../version';
import { ipv4Addresses } from './addresses';
import { createLogger, LOG_LEVELS, type LogLevel } from './logger';
import { startServer } from './signaling-server';

const USAGE = `usage: parley-server [options]

  --host ADDR           address to listen on (default 0.0.0.0)
  --port N              TCP signaling port; the UDP port is the same number (default 7100)
  --ring-timeout S      seconds a call rings before it times out (default 30)
  --heartbeat-timeout S seconds of silence before a client is dropped (default 60)
  --log-level LEVEL     silent | error | warn | info | debug (default info)
  --log-json            log JSON lines instead of readable ones
  -V, --version         the version
  -h, --help            this help`;

export async function main(argv: string[]): Promise<void> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        host: { type: 'string', default: '0.0.0.0' },
        port: { type: 'string', default: '7100' },
        'ring-timeout': { type: 'string', default: '30' },
        'heartbeat-timeout': { type: 'string', default: '60' },
        'log-level': { type: 'string', default: 'info' },
        'log-json': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'V', default: false },
      },
    }).values;
  } catch (err) {
    return usageError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (values.version) {
    process.stdout.write(`parley-server ${VERSION} (protocol v${PROTOCOL_VERSION})\n`);
    return;
  }
  const port = Number(values.port);
  const ring = Number(values['ring-timeout']);
  const heartbeat = Number(values['heartbeat-timeout']);
  const level = values['log-level'] as LogLevel;
  if (!Number.isInteger(port) || port < 0 || port > 65535) return usageError(`--port: not a port number: ${values.port}`);
  if (!(ring > 0)) return usageError(`--ring-timeout: not a number of seconds: ${values['ring-timeout']}`);
  if (!(heartbeat > 0)) return usageError(`--heartbeat-timeout: not a number of seconds: ${values['heartbeat-timeout']}`);
  if (!LOG_LEVELS.includes(level)) return usageError(`--log-level: one of ${LOG_LEVELS.join(', ')}`);

  const logger = createLogger({ level, json: values['log-json'] });
  let server;
  try {
    server = await startServer({
      host: values.host,
      port,
      ringTimeoutMs: ring * 1000,
      heartbeatTimeoutMs: heartbeat * 1000,
      logger,
    });
  } catch (err) {
    process.stderr.write(`parley-server: cannot listen on ${values.host}:${port}: ${(err as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  const hosts = server.host === '0.0.0.0' ? ipv4Addresses() : [server.host];
  process.stdout.write(
    `parley-server listening on TCP port ${server.port} (UDP ${server.udpPort})\n` +
      hosts.map((h) => `  clients connect with: parley --server ${h}:${server.port}\n`).join(''),
  );
  const stop = (signal: string) => {
    logger.info(`${signal}: closing`);
    server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

function usageError(message: string): void {
  process.stderr.write(`parley-server: ${message}\n\n${USAGE}\n`);
  process.exitCode = 2;
}
