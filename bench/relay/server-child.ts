import { startServer } from '../../src/server';
import type { Reply } from '../signaling/ipc';
import type { ReadyWithPorts, RelayServerRequest } from './ipc';

/**
 * parley-server in a process of its own, so /proc shows the relay's CPU alone: on loopback, with
 * its defaults, the embedded relay on its UDP port. Nothing is raised: each call of the bench
 * comes from its own loopback address and each allocation stays under its per-allocation caps.
 */
async function main(): Promise<void> {
  if (!process.send) throw new Error('run me through bench/relay.ts');
  const server = await startServer({ host: '127.0.0.1', port: 0, udpPort: 0 });
  process.on('message', (req: RelayServerRequest) => {
    if (req.type === 'counters') return reply({ id: req.id, ok: true, value: server.relay });
    void server.close().finally(() => {
      reply({ id: req.id, ok: true, value: null });
      process.exit(0);
    });
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true, port: server.port, udpPort: server.udpPort } satisfies ReadyWithPorts);
}

function reply(r: Reply<unknown>): void {
  process.send?.(r);
}

main().catch((err: Error) => {
  process.stderr.write(`relay bench server: ${err.message}\n`);
  process.exit(1);
});
