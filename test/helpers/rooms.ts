import type { RawClient } from './signaling';

/** What roomOf needs of a test server: registered raw clients. */
interface Registrar {
  registered(name: string): Promise<RawClient>;
}

/** A member key as the protocol shapes it; the server passes it on unread. */
export function memberKey(seed: string): { key: string; identity: string; sig: string } {
  const b = (n: number) => Buffer.from(seed.repeat(n)).toString('base64url').slice(0, n);
  return { key: b(43), identity: b(43), sig: b(86) };
}

/** `c` joins (or creates by joining) `room`; returns the joined reply. */
export async function join(c: RawClient, room: string, name: string): Promise<Record<string, unknown>> {
  c.send({ type: 'room.join', room, key: memberKey(name), req: `j-${name}` });
  const r = await c.next();
  if (r.type !== 'room.joined') throw new Error(`${name} joining ${room}: ${JSON.stringify(r)}`);
  return r;
}

/** Takes the next message of `c`, which must be of `type`; returns it. */
export async function nextOf(c: RawClient, type: string): Promise<Record<string, unknown>> {
  const m = await c.next();
  if (m.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(m)}`);
  return m;
}

/** Registers `names` and has them join `room` in that order, each earlier one told of each later one; returns their clients. */
export async function roomOf(t: Registrar, room: string, ...names: string[]): Promise<RawClient[]> {
  const cs: RawClient[] = [];
  for (const n of names) {
    const c = await t.registered(n);
    await join(c, room, n);
    for (const other of cs) await nextOf(other, 'room.member_joined');
    cs.push(c);
  }
  return cs;
}
