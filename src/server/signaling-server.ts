import net from 'node:net';
import type dgram from 'node:dgram';
import { CallBroker } from './call-broker';
import { Connection } from './connection';
import { Dispatcher } from './dispatcher';
import { createLogger, silentLogger, type Logger, type LogLevel } from './logger';
import { MemoryRegistry, type Registry } from './registry';
import { startUdpService } from './udp-service';

export interface ServerOptions {
  host?: string;
  /** TCP port; 0 picks a free one. */
  port?: number;
  /** UDP port for STUN answers; defaults to the TCP port (a free one when that is 0). */
  udpPort?: number;
  ringTimeoutMs?: number;
  /** A client that sends nothing (not even ping) for this long is disconnected. */
  heartbeatTimeoutMs?: number;
  maxPendingOutputBytes?: number;
  logger?: Logger;
  logLevel?: LogLevel;
  logJson?: boolean;
  registry?: Registry;
}

export interface RunningServer {
  readonly host: string;
  readonly port: number;
  readonly udpPort: number;
  /** Registered clients right now. */
  readonly clients: number;
  /** Tells every client `server_shutdown`, then closes. */
  close(): Promise<void>;
}

export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const host = opts.host ?? '0.0.0.0';
  const log = opts.logger ?? (opts.logLevel ? createLogger({ level: opts.logLevel, json: opts.logJson }) : silentLogger);
  const heartbeatMs = opts.heartbeatTimeoutMs ?? 60_000;
  const registry = opts.registry ?? new MemoryRegistry();
  const broker = new CallBroker({ ringTimeoutMs: opts.ringTimeoutMs ?? 30_000, log });
  const connections = new Set<Connection>();
  let udp: dgram.Socket | null = null;
  const dispatcher = new Dispatcher(registry, broker, log, () => udp?.address().port ?? 0);

  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const conn = new Connection(socket, (session, why) => dispatcher.left(session, why), opts.maxPendingOutputBytes);
    connections.add(conn);
    const emit = dispatcher.handle.bind(dispatcher, conn);
    socket.on('data', (chunk) => conn.decoder.push(chunk, emit));
    socket.on('error', (err) => log.debug(`socket ${conn.remote}: ${err.message}`));
    socket.on('close', () => {
      connections.delete(conn);
      conn.leave('disconnected');
    });
  });
  server.on('error', (err) => log.error(`server: ${err.message}`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 7100, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  try {
    udp = await startUdpService(host, opts.udpPort ?? port, log);
  } catch (err) {
    server.close();
    throw new Error(`cannot bind UDP port ${opts.udpPort ?? port}: ${(err as Error).message}`);
  }
  const udpPort = udp.address().port;

  // One sweep for everyone: no timer per connection.
  const sweep = setInterval(
    () => {
      const deadline = Date.now() - heartbeatMs;
      for (const c of connections) {
        if (c.lastSeen < deadline) c.fail('heartbeat_timeout', `nothing heard for ${Math.round(heartbeatMs / 1000)} s`);
      }
    },
    Math.max(50, Math.min(5000, heartbeatMs / 4)),
  );
  sweep.unref();

  let closing: Promise<void> | null = null;
  return {
    host,
    port,
    udpPort,
    get clients() {
      return registry.size;
    },
    close() {
      closing ??= (async () => {
        clearInterval(sweep);
        log.info(`shutting down: telling ${connections.size} client(s)`);
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        broker.clear();
        for (const c of connections) c.fail('server_shutdown', 'the server is shutting down');
        const deadline = setTimeout(() => {
          for (const c of connections) c.socket.destroy();
        }, 1000);
        await closed;
        clearTimeout(deadline);
        await new Promise<void>((resolve) => udp!.close(() => resolve()));
      })();
      return closing;
    },
  };
}
