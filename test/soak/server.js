// The soak's server: parley-server's own startServer (from dist/) in a process of its own, with
// the default limits unless argv[2] says otherwise. Over IPC it reports its port, and on
// 'memory' its memory after two full collections (run with --expose-gc) and its clients.
const { createLogger, startServer } = require('../../dist/server');

const { logLevel, ...opts } = JSON.parse(process.argv[2] || '{}');
const logger = createLogger({ level: logLevel || 'warn' });

startServer({ host: '127.0.0.1', port: 0, udpPort: 0, logger, ...opts }).then((server) => {
  process.on('message', (m) => {
    if (m !== 'memory') return;
    if (global.gc) {
      global.gc();
      global.gc();
    }
    process.send({ memory: { ...process.memoryUsage(), clients: server.clients, connections: server.connections } });
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true, port: server.port });
});
