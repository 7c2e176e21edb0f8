import { startServer } from '../../src/server';
import type { Reply, ServerKind, ServerRequest, ServerStats } from './ipc';
import { startNdjsonMinServer } from './ndjson-min-server';
import { startSocketIoMinServer } from './socketio-min-server';
import { startSocketIoServer } from './socketio-server';

/**
 * One server under test in a process of its own (run with --expose-gc), so its RSS is its
 * own. argv[2] picks the server; it listens on an ephemeral loopback port.
 */
const kind = process.argv[2] as ServerKind;
const gc = (globalThis as { gc?: () => void }).gc;

/**
 * Every client of the bench comes from 127.0.0.1 and each pair calls hundreds of times a second,
 * so the limits that would refuse that are raised out of the way. Every check still runs on every
 * request (budgets charged, rings counted, connections counted): what they cost is measured.
 */
const BENCH_LIMITS = {
  requests: { perSecond: 1e9, burst: 1e9 },
  callsPlaced: { perSecond: 1e9, burst: 1e9 },
  callsReceived: { perSecond: 1e9, burst: 1e9 },
  maxConnectionsPerAddress: 1e9,
};

async function main(): Promise<void> {
  if (!process.send || !gc) throw new Error('run me through bench.ts, with --expose-gc');
  const server =
    kind === 'parley'
      ? await startServer({ host: '127.0.0.1', port: 0, udpPort: 0, limits: BENCH_LIMITS })
      : kind === 'ndjson-min'
        ? await startNdjsonMinServer({ host: '127.0.0.1', port: 0 })
        : kind === 'socketio-min'
          ? await startSocketIoMinServer({ host: '127.0.0.1', port: 0 })
          : await startSocketIoServer({ host: '127.0.0.1', port: 0 });

  const stats = (collect: boolean): ServerStats => {
    // Twice: the first pass can leave work (weak callbacks, finalizers) to the second.
    if (collect) {
      gc();
      gc();
    }
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    return { rss: mem.rss, heapUsed: mem.heapUsed, clients: server.clients, cpuMicros: cpu.user + cpu.system, systemMicros: cpu.system };
  };

  process.on('message', (req: ServerRequest) => {
    if (req.type === 'stats') return reply({ id: req.id, ok: true, value: stats(req.gc) });
    void server.close().finally(() => {
      reply({ id: req.id, ok: true, value: null });
      process.exit(0);
    });
  });
  // The bench went away without telling us: don't outlive it.
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true, port: server.port });
}

function reply(r: Reply<unknown>): void {
  process.send?.(r);
}

main().catch((err: Error) => {
  process.stderr.write(`server child (${kind}): ${err.message}\n`);
  process.exit(1);
});
