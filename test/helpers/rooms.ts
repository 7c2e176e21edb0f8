import type { RawClient } from './signaling';

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
