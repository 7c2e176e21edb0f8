// One attacker: replays one of the server's hostile-client findings for `durationMs`, from its
// own source address(es), reconnecting whenever the server cuts it off, then reports what the
// server did to it: the error codes it was sent, how often it was cut off, and per-kind figures.
// argv[2]: {kind, port, from: string[], durationMs, ringVictim, relayVictim}
// IPC out: {outcome} when done.
const { randomBytes } = require('node:crypto');
const { Peer, sleep } = require('./wire');

const cfg = JSON.parse(process.argv[2]);
const { kind, port, durationMs } = cfg;
const started = Date.now();
const deadline = started + durationMs;
const alive = () => Date.now() < deadline;
const outcome = { kind, connections: 0, connectErrors: 0, codes: {}, cutOff: 0, resets: 0, extra: {} };
const bump = (o, k, n = 1) => (o[k] = (o[k] || 0) + n);
const open = new Set();
let seq = 0;
let addr = 0;
const from = () => cfg.from[addr++ % cfg.from.length];

function track(p) {
  outcome.connections++;
  open.add(p);
  const tap = p.tap;
  p.tap = (m) => {
    if (m.type === 'error') bump(outcome.codes, m.code);
    if (tap) tap(m);
  };
  p.closedP.then(() => {
    open.delete(p);
    if (!p.ours && alive()) outcome.cutOff++;
    if (p.reset) outcome.resets++;
  });
  return p;
}

/** A connection, registered as a fresh attacker name when `prefix` is given; null when refused. */
async function session(prefix, tap, source = from()) {
  try {
    const p = await Peer.connect(port, source);
    p.tap = tap || null;
    track(p);
    if (!prefix) return p;
    p.send({ type: 'hello', version: 1, name: `${prefix}-${++seq}`, req: 'hello' });
    const m = await p.take((x) => x.req === 'hello' || x.type === 'error', 10_000);
    if (m.type !== 'welcome') {
      p.destroy();
      return null;
    }
    p.name = `${prefix}-${seq}`;
    return p;
  } catch {
    outcome.connectErrors++;
    await sleep(50);
    return null;
  }
}

/** Runs `loop` on `n` lanes at once until the deadline. */
async function lanes(n, loop) {
  await Promise.all(Array.from({ length: n }, async (_, lane) => {
    while (alive()) await loop(lane);
  }));
}

/** Writes `lines` (in turn) as fast as the connection takes them, until it closes or time is up. */
async function pour(p, lines) {
  for (let i = 0; alive() && !p.closed; i++) await p.write(lines[i % lines.length]);
}

const nested = (depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

const attacks = {
  /** Finding 1: bodies nested 5,000 deep in candidate, call and answer. */
  async nested() {
    const body = nested(5000);
    const lines = [
      `{"type":"candidate","call":"x","req":1,"candidate":${body}}\n`,
      `{"type":"call","to":"${cfg.ringVictim}","req":1,"offer":${body}}\n`,
      `{"type":"answer","call":"x","accept":true,"req":1,"answer":${body}}\n`,
    ];
    await lanes(2, async () => {
      const p = await session('atk-nest', (m) => m.code === 'too_large' && m.message === 'nested deeper than 32 levels' && bump(outcome.extra, 'refusedNesting'));
      if (p) await pour(p, lines);
    });
  },

  /** Finding 2: 4,096 `list` requests in each 64 KiB write, read as they come. */
  async list() {
    const burst = '{"type":"list"}\n'.repeat(4096);
    outcome.extra.pages = 0;
    outcome.extra.budgetPages = 0;
    await lanes(1, async () => {
      const p = await session('atk-list', (m) => m.type === 'users' && outcome.extra.pages++);
      if (!p) return;
      const t0 = Date.now();
      await pour(p, [burst]);
      // What the request budget allows one connection in that time: 400 units at once and 100
      // a second after, a page of 256 names costing 17.
      outcome.extra.budgetPages += (400 + (100 * (Date.now() - t0)) / 1000) / 17;
    });
    outcome.extra.budgetPages = Math.round(outcome.extra.budgetPages);
  },

  /** Finding 3: in an accepted call, 16 KB candidates pipelined at the callee. */
  async relay() {
    const pad = 'x'.repeat(16_000);
    outcome.extra.calls = 0;
    await lanes(1, async () => {
      const p = await session('atk-relay');
      if (!p) return;
      while (alive() && !p.closed) {
        p.send({ type: 'call', to: cfg.relayVictim, offer: {}, req: 'call' });
        const r = await p.take((m) => m.req === 'call', 10_000).catch(() => null);
        if (!r) break;
        if (r.type !== 'ringing') {
          await sleep(Math.min(r.retryAfterMs || 200, 2000));
          continue;
        }
        const a = await p.take((m) => (m.type === 'accepted' || m.type === 'rejected' || m.type === 'ended') && m.call === r.call, 10_000).catch(() => null);
        if (!a || a.type !== 'accepted') continue;
        outcome.extra.calls++;
        const line = JSON.stringify({ type: 'candidate', call: r.call, candidate: { pad } }) + '\n';
        p.onMessage = () => undefined; // read everything, keep nothing
        await pour(p, [line]);
      }
      p.destroy();
    });
  },

  /** Finding 5: calls at one victim as fast as the socket takes them, and a caller it keeps declining. */
  async ring() {
    outcome.extra.rings = 0;
    outcome.extra.declined = 0;
    outcome.extra.blockedAfterDeclines = 0;
    let floodFrom = Date.now() + 3000;
    const decliner = (async () => {
      const p = await session('atk-decl');
      if (!p) return;
      for (let n = 0; alive() && !p.closed; n++) {
        p.send({ type: 'call', to: cfg.ringVictim, offer: {}, req: n });
        const r = await p.take((m) => m.req === n, 10_000).catch(() => null);
        if (!r) break;
        if (r.type === 'ringing') {
          const e = await p.take((m) => (m.type === 'rejected' || m.type === 'ended') && m.call === r.call, 10_000).catch(() => null);
          if (e && e.reason === 'declined') outcome.extra.declined++;
        } else if (r.code === 'rate_limited') {
          if (/declined your last/.test(r.message)) {
            outcome.extra.blockedAfterDeclines++;
            floodFrom = Math.min(floodFrom, Date.now());
          }
          await sleep(Math.min(r.retryAfterMs || 500, 1000));
        } else {
          await sleep(200);
        }
      }
    })();
    // The flooders start once the decliner has been blocked (or after 3 s), so the victim's
    // own budget does not hide the decline rule.
    while (alive() && Date.now() < floodFrom) await sleep(50);
    const lines = Array.from({ length: 64 }, () => JSON.stringify({ type: 'call', to: cfg.ringVictim, offer: { codecs: ['opus'] } })).join('\n') + '\n';
    await lanes(3, async () => {
      const p = await session('atk-ring', (m) => m.type === 'ringing' && outcome.extra.rings++);
      if (p) await pour(p, [lines]);
    });
    await decliner;
  },

  /** Finding 7: a body of 16,000 "€" (48 KB of UTF-8), and lines over 64 KiB. */
  async oversize() {
    const euro = JSON.stringify({ type: 'call', to: cfg.ringVictim, offer: { pad: '€'.repeat(16_000) }, req: 'e' }) + '\n';
    const long = 'x'.repeat(70 * 1024) + '\n';
    await lanes(2, async () => {
      const p = await session('atk-big');
      if (p) await pour(p, [euro, long]);
    });
  },

  /** Finding 7: an invalid 60 KB `req`, which must never be echoed back. */
  async badreq() {
    const req = 'r'.repeat(60_000);
    const lines = [JSON.stringify({ type: 'dance', req }) + '\n', JSON.stringify({ type: 'ping', req }) + '\n'];
    outcome.extra.echoed = 0;
    const tap = (m) => {
      if (m.type === 'error' && ('req' in m || JSON.stringify(m).length > 300)) outcome.extra.echoed++;
    };
    await lanes(2, async () => {
      const p = await session(null, tap);
      if (p) await pour(p, lines);
    });
  },

  /** Finding 7: connections that never register but keep pinging. */
  async anonping() {
    outcome.extra.pongs = 0;
    await lanes(20, async () => {
      const p = await session(null, (m) => m.type === 'pong' && outcome.extra.pongs++);
      if (!p) return;
      while (alive() && !p.closed) {
        p.send({ type: 'ping' });
        await sleep(500);
      }
    });
  },

  /** Finding 7: more connections from each address than the per-address cap, held open and retried. */
  async connflood() {
    await lanes(140 * cfg.from.length, async (lane) => {
      const p = await session(null, null, cfg.from[lane % cfg.from.length]);
      if (!p) return;
      await p.closedP;
      // A refused connection is retried at once, but by no more than 10 a second per lane, so
      // the flood stays within what the loopback's ports allow for half a minute.
      await sleep(100);
    });
  },

  /** Finding 7: unfinished lines dripped one byte per segment. */
  async drip() {
    const byte = Buffer.from('a');
    outcome.extra.bytes = 0;
    await lanes(20, async () => {
      const p = await session(null);
      if (!p) return;
      p.socket.write('{"type":"ping","req":"');
      while (alive() && !p.closed) {
        p.socket.write(byte);
        outcome.extra.bytes++;
        await new Promise((r) => setImmediate(r));
      }
    });
  },

  /** The storm: malformed lines of every sort. */
  async garbage() {
    const sorts = [
      () => randomBytes(1 + Math.floor(Math.random() * 200)).toString('latin1').replace(/\n/g, ' '),
      () => '{"type":"call","to":"bob","offer":{"x":',
      () => 'x'.repeat(70 * 1024),
      () => JSON.stringify({ type: 'call', to: 42, offer: [] }),
      () => JSON.stringify({ type: 'answer', call: 'nope', accept: 'yes' }),
      () => JSON.stringify([{ type: 'hello' }]),
      () => JSON.stringify({ type: 'hello', version: 1, name: '../../etc' }),
      () => JSON.stringify({ type: 'hangup', call: randomBytes(16).toString('hex') }),
    ];
    await lanes(3, async () => {
      const p = await session(null);
      if (!p) return;
      while (alive() && !p.closed) {
        let chunk = '';
        for (let i = 0; i < 25; i++) chunk += sorts[Math.floor(Math.random() * sorts.length)]() + '\n';
        await p.write(chunk);
      }
    });
  },
};

async function main() {
  const attack = attacks[kind];
  if (!attack) throw new Error(`no attack named ${kind}`);
  // At the deadline every connection is dropped, whatever it is waiting for.
  const stop = setTimeout(() => {
    for (const p of open) p.destroy();
  }, durationMs);
  await attack();
  clearTimeout(stop);
  for (const p of open) p.destroy();
  outcome.ranMs = Date.now() - started;
  process.send({ outcome }, () => process.exit(0));
}

process.on('disconnect', () => process.exit(0));
main().catch((err) => {
  process.send({ failed: String(err && err.stack ? err.stack : err) }, () => process.exit(1));
});
