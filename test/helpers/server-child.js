// A server in its own process (from the build in dist/) for tests that measure it:
// reports its port, and its RSS on request, over IPC.
const { startServer } = require('../../dist/server');

startServer({ host: '127.0.0.1', port: 0, udpPort: 0 }).then((server) => {
  process.on('message', (m) => {
    if (m !== 'rss') return;
    if (global.gc) global.gc();
    process.send({ rss: process.memoryUsage().rss });
  });
  process.send({ port: server.port });
});
