// The legitimate clients that are busy while the attackers run: pingers that measure the
// server's round trip, pairs that place real calls (call → accept → candidates → hang-up), a
// victim the ring flooders call (it declines them) with an ordinary caller who keeps calling it
// too, and a victim the relay flooder calls (it accepts and reads everything).
// argv[2]: {port, from, pingers, pingEveryMs, pairs, ringVictim, relayVictim}
// IPC in: 'report' (replies {report}), 'stop'. IPC out: {ready} once everyone is registered.
const { Peer, sleep, longName, nowMs } = require('./wire');

const cfg = JSON.parse(process.argv[2]);
const { port, from } = cfg;
let running = true;
const peers = [];
const report = {
  pings: [],
  pingTimeouts: 0,
  calls: { completed: 0, setupMs: [], refused: {}, failed: {} }, // setupMs: [sent at, ms to accepted]
  ringVictim: { incoming: {}, declined: 0, errors: {} },
  ordinaryCaller: { outcomes: {} },
  relayVictim: { accepted: 0, candidates: 0, candidateBytes: 0, errors: {} },
  dropped: [],
};
const bump = (o, k) => (o[k] = (o[k] || 0) + 1);

async function join(name) {
  const p = await Peer.register(port, from, name);
  p.name = name;
  peers.push(p);
  p.closedP.then(() => {
    if (!p.ours) report.dropped.push(name);
  });
  return p;
}

async function pinger(p) {
  await sleep(Math.random() * cfg.pingEveryMs);
  for (let i = 0; running && !p.closed; i++) {
    const t0 = nowMs();
    p.send({ type: 'ping', req: i });
    try {
      await p.take((m) => m.type === 'pong' && m.req === i, 10_000);
      const t1 = nowMs();
      report.pings.push([Math.round(t0), +(t1 - t0).toFixed(2)]);
      await sleep(Math.max(0, cfg.pingEveryMs * (0.5 + Math.random()) - (t1 - t0)));
    } catch {
      report.pingTimeouts++;
    }
    p.queue.length = 0;
  }
}

async function callPair(a, b) {
  await sleep(Math.random() * 1000);
  for (let n = 0; running && !a.closed && !b.closed; n++) {
    let step = 'call';
    try {
      const t0 = nowMs();
      a.send({ type: 'call', to: b.name, offer: { codecs: ['opus'], n }, req: `c${n}` });
      const r = await a.take((m) => m.req === `c${n}`);
      if (r.type !== 'ringing') {
        bump(report.calls.refused, r.code || r.type);
        await sleep(r.retryAfterMs || 1000);
        continue;
      }
      step = 'incoming';
      await b.take((m) => m.type === 'incoming' && m.call === r.call);
      step = 'answer';
      b.send({ type: 'answer', call: r.call, accept: true, answer: { codecs: ['opus'] }, req: `a${n}` });
      await expectOk(b, `a${n}`);
      step = 'accepted';
      await a.take((m) => m.type === 'accepted' && m.call === r.call);
      report.calls.setupMs.push([Math.round(t0), +(nowMs() - t0).toFixed(2)]);
      step = 'candidates';
      a.send({ type: 'candidate', call: r.call, candidate: { addr: '127.0.0.1', port: 5000 + n }, req: `ka${n}` });
      b.send({ type: 'candidate', call: r.call, candidate: { addr: '127.0.0.1', port: 6000 + n }, req: `kb${n}` });
      await expectOk(a, `ka${n}`);
      await expectOk(b, `kb${n}`);
      await a.take((m) => m.type === 'candidate' && m.call === r.call);
      await b.take((m) => m.type === 'candidate' && m.call === r.call);
      step = 'hangup';
      a.send({ type: 'hangup', call: r.call, req: `h${n}` });
      await expectOk(a, `h${n}`);
      await b.take((m) => m.type === 'ended' && m.call === r.call && m.reason === 'hangup');
      report.calls.completed++;
    } catch (err) {
      bump(report.calls.failed, `${step}: ${err.message}`);
    }
    a.queue.length = 0;
    b.queue.length = 0;
    // A call every 2–3 s: well within the 1 call a second a session may place.
    await sleep(1500 + Math.random() * 1000);
  }
}

async function expectOk(p, req) {
  const m = await p.take((x) => x.req === req);
  if (m.type !== 'ok') throw new Error(`${m.type} ${m.code || ''}`.trim());
}

/** Declines every attacker's call; the ordinary caller cancels its own. Pings once a second. */
function ringVictim(v) {
  let seq = 0;
  v.onMessage = (m) => {
    if (m.type === 'incoming') {
      const who = m.from.startsWith('atk') ? 'attacker' : 'ordinary';
      bump(report.ringVictim.incoming, who);
      if (who === 'attacker') {
        v.send({ type: 'answer', call: m.call, accept: false, reason: 'declined', req: `d${++seq}` });
        report.ringVictim.declined++;
      }
    } else if (m.type === 'error') bump(report.ringVictim.errors, m.code);
  };
  const beat = setInterval(() => v.send({ type: 'ping', req: 'beat' }), 1000);
  v.closedP.then(() => clearInterval(beat));
  return beat;
}

/** Calls the ring victim once a second and cancels once it rings: does it still ring through? */
async function ordinaryCaller(c, victim) {
  await sleep(500);
  for (let n = 0; running && !c.closed; n++) {
    c.send({ type: 'call', to: victim, offer: { codecs: ['opus'] }, req: `o${n}` });
    try {
      const r = await c.take((m) => m.req === `o${n}`);
      bump(report.ordinaryCaller.outcomes, r.type === 'ringing' ? 'ringing' : r.code || r.type);
      if (r.type === 'ringing') {
        c.send({ type: 'cancel', call: r.call, req: `x${n}` });
        await c.take((m) => m.req === `x${n}`);
      }
    } catch (err) {
      bump(report.ordinaryCaller.outcomes, err.message);
    }
    c.queue.length = 0;
    await sleep(1000);
  }
}

/** Accepts every attacker's call and reads all it is sent. */
function relayVictim(v) {
  v.onMessage = (m) => {
    if (m.type === 'incoming') {
      v.send({ type: 'answer', call: m.call, accept: true, answer: { codecs: ['opus'] }, req: 'acc' });
      report.relayVictim.accepted++;
    } else if (m.type === 'candidate') {
      report.relayVictim.candidates++;
      report.relayVictim.candidateBytes += JSON.stringify(m.candidate).length;
    } else if (m.type === 'error') bump(report.relayVictim.errors, m.code);
  };
  const beat = setInterval(() => v.send({ type: 'ping', req: 'beat' }), 1000);
  v.closedP.then(() => clearInterval(beat));
  return beat;
}

async function main() {
  const pingers = await Promise.all(Array.from({ length: cfg.pingers }, (_, i) => join(longName('ping', i))));
  const pairs = await Promise.all(
    Array.from({ length: cfg.pairs }, async (_, i) => [await join(longName('caller', i)), await join(longName('callee', i))]),
  );
  const rv = await join(cfg.ringVictim);
  const oc = await join(longName('ordinary', 0));
  const lv = await join(cfg.relayVictim);
  const beats = [ringVictim(rv), relayVictim(lv)];
  process.send({ ready: true, registered: peers.length });
  const work = [...pingers.map(pinger), ...pairs.map(([a, b]) => callPair(a, b)), ordinaryCaller(oc, cfg.ringVictim)];

  process.on('message', async (m) => {
    if (m === 'report') process.send({ report });
    if (m === 'stop') {
      running = false;
      for (const b of beats) clearInterval(b);
      await Promise.race([Promise.all(work), sleep(15_000)]);
      for (const p of peers) p.destroy();
      process.send({ stopped: true, report });
      setTimeout(() => process.exit(0), 100);
    }
  });
}

process.on('disconnect', () => process.exit(0));
main().catch((err) => {
  process.send({ failed: String(err && err.stack ? err.stack : err) });
  setTimeout(() => process.exit(1), 100);
});
