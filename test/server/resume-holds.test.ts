/**
 * The resume grace holds a dropped session's name without a connection, so what it holds is
 * bounded: per source address and in all. Past the bounds a dropped session leaves at once.
 */
import type { Connection } from '../../src/server/connection';
import type { Session } from '../../src/server/registry';
import { Resumption } from '../../src/server/resumption';
import { ManualClock } from './manual-clock';

const conn = { send: () => undefined, backlog: 0 } as unknown as Connection;

function session(resumption: Resumption, name: string, address: string): Session {
  return resumption.open(conn, (send, backlog) => ({ id: name, name, address, callId: null, send, backlog }));
}

test('at most perAddress sessions from one address are held, and at most total in all', () => {
  const clock = new ManualClock();
  const expired: string[] = [];
  const r = new Resumption(30_000, clock, (s) => expired.push(s.name), { perAddress: 2, total: 3 });
  const fromA = [0, 1, 2].map((i) => session(r, `a${i}`, '192.0.2.1'));
  expect(fromA.map((s) => r.hold(s))).toEqual([true, true, false]);
  expect(r.held).toBe(2);
  const fromB = [0, 1].map((i) => session(r, `b${i}`, '192.0.2.2'));
  expect(fromB.map((s) => r.hold(s))).toEqual([true, false]);
  expect(r.held).toBe(3);
  // Taking one back, or its grace running out, makes room again.
  const back = r.take(r.tokenOf(fromA[0])!, 'a0', conn);
  expect(back?.session).toBe(fromA[0]);
  expect(r.held).toBe(2);
  expect(r.hold(fromA[2])).toBe(true);
  clock.advance(30_000);
  expect(expired.sort()).toEqual(['a1', 'a2', 'b0']);
  expect(r.held).toBe(0);
});
