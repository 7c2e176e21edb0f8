// Holds registered clients that do what an idle client does: stay connected and ping now and
// then so the server's heartbeat keeps them. Spread over several source addresses, as clients
// behind different machines or NATs would be.
// argv[2]: {port, first, count, addresses: string[], heartbeatMs}
// IPC in: 'check' (each client pings and looks itself up; replies with the outcome), 'stop'.
// IPC out: {ready, registered} once all are in; {check: {...}}.
const { Peer, sleep, longName } = require('./wire');

const { port, first, count, addresses, heartbeatMs } = JSON.parse(process.argv[2]);
const clients = [];
/** Clients the server closed, and anything unexpected it sent them. */
let dropped = 0;
const unexpected = {};

function watch(c) {
  c.onMessage = (m) => {
    if (c.expect && c.expect(m)) return;
    if (m.type === 'pong' && String(m.req).startsWith('hb-')) return;
    const key = m.type === 'error' ? `error:${m.code}` : m.type;
    unexpected[key] = (unexpected[key] || 0) + 1;
  };
  c.closedP.then(() => {
    if (!c.ours) dropped++;
  });
}

/** Sends `msg` and waits for the reply with its req. */
function ask(c, msg, timeoutMs) {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      c.expect = null;
      resolve({ type: 'timeout' });
    }, timeoutMs);
    c.expect = (m) => {
      if (m.req !== msg.req) return false;
      clearTimeout(t);
      c.expect = null;
      resolve(m);
      return true;
    };
    c.closedP.then(() => {
      clearTimeout(t);
      resolve({ type: 'closed' });
    });
    c.send(msg);
  });
}

async function main() {
  const perAddress = Math.ceil(count / addresses.length);
  for (let i = 0; i < count; i += 200) {
    const batch = [];
    for (let k = i; k < Math.min(count, i + 200); k++) {
      const n = first + k;
      batch.push(Peer.register(port, addresses[Math.floor(k / perAddress)], longName('legit', n)).then((c) => ((c.name = longName('legit', n)), c)));
    }
    for (const c of await Promise.all(batch)) {
      watch(c);
      clients.push(c);
    }
  }
  process.send({ ready: true, registered: clients.length });

  // Heartbeat: every client pings once per heartbeatMs, spread evenly.
  let seq = 0;
  let i = 0;
  const beat = setInterval(() => {
    for (let k = 0; k < Math.max(1, Math.round(clients.length / (heartbeatMs / 100))); k++) {
      const c = clients[i++ % clients.length];
      if (!c.expect) c.send({ type: 'ping', req: `hb-${++seq}` });
    }
  }, 100);

  process.on('message', async (m) => {
    if (m === 'stop') {
      clearInterval(beat);
      for (const c of clients) c.destroy();
      process.exit(0);
    }
    if (m === 'check') {
      clearInterval(beat);
      // Each client: a ping answered with its pong, and a lookup of its own name answered with
      // itself, so it is both connected and still registered. In batches, not all at once.
      const out = { clients: clients.length, pong: 0, registered: 0, failures: {}, dropped: 0 };
      for (let k = 0; k < clients.length; k += 500) {
        await Promise.all(
          clients.slice(k, k + 500).map(async (c, j) => {
            const r1 = await ask(c, { type: 'ping', req: `check-${k + j}` }, 30_000);
            if (r1.type === 'pong') out.pong++;
            const r2 = await ask(c, { type: 'lookup', name: c.name, req: `self-${k + j}` }, 30_000);
            if (r2.type === 'user' && r2.name === c.name) out.registered++;
            const bad = r1.type !== 'pong' ? r1 : r2.type !== 'user' ? r2 : null;
            if (bad) {
              const key = bad.type === 'error' ? `error:${bad.code}` : bad.type;
              out.failures[key] = (out.failures[key] || 0) + 1;
            }
          }),
        );
        await sleep(0);
      }
      out.dropped = dropped;
      out.unexpected = unexpected;
      process.send({ check: out });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

main().catch((err) => {
  process.send({ failed: String(err && err.stack ? err.stack : err) });
  setTimeout(() => process.exit(1), 100);
});
