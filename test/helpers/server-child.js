// A server in its own process (from the build in dist/) for tests that attack or measure it:
// options arrive as JSON in argv[2]; it reports its port, and on 'memory' its memory after two full collections
// (run with --expose-gc; now and at its peak) and its clients, over IPC,
// and logs warnings (or what `logLevel` asks for) to stderr as parley-server does.
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
    const maxRss = process.resourceUsage().maxRSS * 1024;
    process.send({ memory: { ...process.memoryUsage(), maxRss, clients: server.clients, held: server.held, connections: server.connections } });
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true, port: server.port });
});
