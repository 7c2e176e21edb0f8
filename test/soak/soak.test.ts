import { ATTACKS, runSoak, type Attack, type SoakConfig, type SoakFigures } from './soak';

/**
 * The soak of the "survive hostile clients" issue: thousands of registered clients, legitimate
 * clients pinging and calling, and one attacker per finding at once (see soak.ts).
 *
 * By default (in `npm test`) a reduced soak that holds on a busy two-core machine: 2,000 clients,
 * 8 s of attack, generous latency bounds. `npm run soak` (PARLEY_SOAK=full) runs the full one:
 * 10,000 clients, 30 s of attack, ping p99 under 50 ms during the attack.
 */
const FULL = process.env.PARLEY_SOAK === 'full';
const CLIENTS = FULL ? 10_000 : 2000;
/** PARLEY_SOAK_ATTACKS=list,relay runs only those attackers (to look into one); their checks alone are made. */
const ONLY = process.env.PARLEY_SOAK_ATTACKS?.split(',') as Attack[] | undefined;
const attacks = ONLY ?? ATTACKS;

const config: SoakConfig = FULL
  ? {
      name: 'full',
      clients: CLIENTS,
      holders: 4,
      perAddress: 50,
      pingers: 40,
      pingEveryMs: 200,
      pairs: 10,
      settleMs: 5000,
      returnMs: 60_000,
      baselineMs: 10_000,
      attackMs: 30_000,
      // The server's defaults throughout.
      attacks,
      server: {},
      fdLimit: CLIENTS + 4096,
    }
  : {
      name: 'reduced',
      clients: CLIENTS,
      holders: 2,
      perAddress: 50,
      pingers: 20,
      pingEveryMs: 200,
      pairs: 4,
      settleMs: 2000,
      returnMs: 20_000,
      baselineMs: 4000,
      attackMs: 8000,
      // The registration deadline (10 s by default) shortened so that the connections that never
      // register meet it within the shorter attack.
      attacks,
      server: { limits: { registrationTimeoutMs: 3000 } },
      fdLimit: CLIENTS + 4096,
    };

jest.setTimeout(FULL ? 900_000 : 240_000);

let f: SoakFigures;

beforeAll(async () => {
  f = await runSoak(config);
});

test('no legitimate client is dropped: every one is still registered and answers ping', () => {
  expect(f.serverAlive).toBe(true);
  expect(f.legit.dropped).toBe(0);
  expect(f.legit.droppedNames).toEqual([]);
  expect(f.legit.holderCheck.clients).toBe(config.clients);
  expect(f.legit.holderCheck.pong).toBe(config.clients);
  expect(f.legit.holderCheck.registered).toBe(config.clients);
  expect(f.legit.holderCheck.failures).toEqual({});
  // Nothing but the attackers is gone: the registry holds exactly the legitimate clients.
  expect(f.legit.registeredBefore).toBe(f.legit.expected);
  expect(f.legit.registeredAfter).toBe(f.legit.expected);
  expect(f.ping.timeouts).toBe(0);
});

test('legitimate calls go on through the attack', () => {
  expect(f.calls.before).toBeGreaterThan(0);
  expect(f.calls.during).toBeGreaterThan(0);
  expect(f.calls.failed).toEqual({});
  // The relay victim kept its connection and its calls; the ring victim too (its errors can only be
  // calls that ended before its decline arrived).
  expect(Object.keys(f.relayVictim.errors)).toEqual([]);
  if (attacks.includes('relay')) expect(f.relayVictim.accepted).toBeGreaterThan(0);
  for (const code of Object.keys(f.ringVictim.errors)) expect(['no_such_call', 'wrong_state']).toContain(code);
});

test('ping round trips during the attack stay within bounds', () => {
  expect(f.ping.before.count).toBeGreaterThan(50);
  expect(f.ping.during.count).toBeGreaterThan(100);
  if (FULL) expect(f.ping.during.p99).toBeLessThan(50);
  // A busy machine may lose a core to something else: bounded relative to the baseline.
  else expect(f.ping.during.p99).toBeLessThanOrEqual(Math.max(250, 5 * f.ping.before.p99));
});

test('the server keeps nothing of the attack: its heap is back to its pre-attack size', () => {
  expect(f.memory.after.heapUsed).toBeLessThanOrEqual(f.memory.before.heapUsed * 1.2 + 2 * 2 ** 20);
  expect(f.memory.after.arrayBuffers).toBeLessThanOrEqual(f.memory.before.arrayBuffers + 2 * 2 ** 20);
});

// The figure. What the C allocator keeps of freed memory is its own affair (it can keep
// tens of MiB after a flood of 64 KiB lines: see docs/architecture.md), so the reduced soak,
// whose server is small to begin with, allows 20 % or 48 MiB, whichever is more.
test('server RSS returns within 20 % of its pre-attack figure', () => {
  if (FULL) expect(f.rss.after).toBeLessThanOrEqual(f.rss.before * 1.2);
  else expect(f.rss.after).toBeLessThanOrEqual(Math.max(f.rss.before * 1.2, f.rss.before + 48 * 2 ** 20));
});

describe('each attacker is refused, rate-limited or cut off as designed', () => {
  const a = (kind: string) => f.attackers[kind];
  /**
   * Connections cut off with `too_many_errors`, counted from what the attacker was told, or, for
   * one that went on writing until the server reset it (the reset can discard the goodbye
   * unread), from the resets; never more than were cut off.
   */
  const cutOffTold = (kind: string) => Math.min(a(kind).cutOff, (a(kind).codes.too_many_errors ?? 0) + a(kind).resets);
  const test = (name: string, fn: () => void) => (attacks.some((k) => name.startsWith(`${k}:`)) ? global.test(name, fn) : global.test.skip(name, fn));

  test('nested: nested bodies → too_large (nesting), then too_many_errors', () => {
    expect(a('nested').extra.refusedNesting).toBeGreaterThan(0);
    expect(cutOffTold('nested')).toBeGreaterThan(0);
    expect(a('nested').cutOff).toBeGreaterThan(0);
  });

  test('list: list bursts → served no faster than the request budget allows', () => {
    expect(a('list').extra.pages).toBeGreaterThan(0);
    expect(a('list').extra.pages).toBeLessThanOrEqual(a('list').extra.budgetPages * 1.1 + 5);
  });

  test('relay: candidate flood in a call → rate_limited, then the sender (never the callee) is cut off', () => {
    expect(a('relay').extra.calls).toBeGreaterThan(0);
    expect(a('relay').codes.rate_limited).toBeGreaterThan(0);
    expect(cutOffTold('relay')).toBeGreaterThan(0);
  });

  test('ring: ring flood → rate_limited; a caller declined 3 times is blocked', () => {
    expect(a('ring').codes.rate_limited).toBeGreaterThan(0);
    expect(a('ring').extra.declined).toBeGreaterThanOrEqual(3);
    expect(a('ring').extra.blockedAfterDeclines).toBeGreaterThan(0);
  });

  test('oversize: oversized and UTF-8-inflated bodies → too_large, then too_many_errors', () => {
    expect(a('oversize').codes.too_large).toBeGreaterThan(0);
    expect(cutOffTold('oversize')).toBeGreaterThan(0);
  });

  test('badreq: a 60 KB req → bad_request, never echoed', () => {
    expect(a('badreq').codes.bad_request).toBeGreaterThan(0);
    // Cut off for its bad lines, or (the lines being costly, so read slowly) at the registration deadline.
    expect((a('badreq').codes.too_many_errors ?? 0) + (a('badreq').codes.registration_timeout ?? 0)).toBeGreaterThan(0);
    expect(a('badreq').extra.echoed).toBe(0);
  });

  test('anonping: unregistered connections that keep pinging → registration_timeout', () => {
    expect(a('anonping').codes.registration_timeout).toBeGreaterThan(0);
  });

  test('connflood: connections past the per-address cap → too_many_connections', () => {
    expect(a('connflood').codes.too_many_connections).toBeGreaterThan(0);
  });

  test('drip: dripped unfinished lines → registration_timeout', () => {
    expect(a('drip').codes.registration_timeout).toBeGreaterThan(0);
  });

  test('garbage: malformed lines → bad_request, and the connection is cut off', () => {
    const g = a('garbage');
    expect(g.codes.bad_request).toBeGreaterThan(0);
    // 20 bad lines in a row end it with too_many_errors; a line refused as an ordinary outcome
    // (bad_name) breaks the run, and then the registration timeout ends it.
    expect(Math.min(g.cutOff, cutOffTold('garbage') + (g.codes.registration_timeout ?? 0))).toBeGreaterThan(0);
  });
});
