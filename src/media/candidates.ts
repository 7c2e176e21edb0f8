import { isIPv4 } from 'node:net';
import os from 'node:os';

/**
 * Where a peer can be reached (RFC 8445 §5.1.1): host addresses of the local interfaces,
 * server-reflexive (the address a STUN server saw, i.e. the NAT's mapping), peer-reflexive
 * (learned from a peer's check; never offered) and relay.
 */
export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';

export interface Candidate {
  ip: string;
  port: number;
  type: CandidateType;
  /** RFC 8445 §5.1.2; computed from the type when a peer leaves it out. */
  priority?: number;
}

export function addressKey(a: { ip: string; port: number }): string {
  return `${a.ip}:${a.port}`;
}

/** RFC 8445 §5.1.2.2's recommended type preferences. */
const TYPE_PREFERENCE: Record<CandidateType, number> = { host: 126, prflx: 110, srflx: 100, relay: 0 };

/** A candidate's priority for component 1 (parley has one: RTP and checks share a socket). */
export function candidatePriority(type: CandidateType, localPreference = 65535): number {
  return TYPE_PREFERENCE[type] * 2 ** 24 + (localPreference & 0xffff) * 2 ** 8 + 255;
}

export function priorityOf(c: Candidate): number {
  return c.priority ?? candidatePriority(c.type);
}

/**
 * What kind of place an address is, for deciding whether a peer's say-so is enough to send
 * there: loopback and link-local reach this machine and its own link, `unusable` is anything
 * no datagram of ours should go to (not IPv4, "this network", multicast, reserved, broadcast).
 */
export type AddressScope = 'routable' | 'loopback' | 'link-local' | 'unusable';

export function addressScope(ip: string): AddressScope {
  if (!isIPv4(ip)) return 'unusable';
  const [a, b] = ip.split('.').map(Number);
  if (a === 127) return 'loopback';
  if (a === 169 && b === 254) return 'link-local';
  if (a === 0 || a >= 224) return 'unusable';
  return 'routable';
}

/** Whether one of this machine's interfaces has an IPv4 link-local address. */
export function hasLinkLocalInterface(): boolean {
  return Object.values(os.networkInterfaces())
    .flat()
    .some((a) => !!a && a.family === 'IPv4' && addressScope(a.address) === 'link-local');
}

/**
 * The IPv4 addresses of the local interfaces with the bound port. A socket bound to one
 * address is reachable only there; bound to the wildcard, at every interface address,
 * loopback last (and lowest priority) so a remote peer tries the routable ones first.
 */
export function hostCandidates(boundHost: string, port: number): Candidate[] {
  if (boundHost !== '0.0.0.0') return [{ ip: boundHost, port, type: 'host', priority: candidatePriority('host') }];
  const addrs = Object.values(os.networkInterfaces())
    .flat()
    .filter((a): a is os.NetworkInterfaceInfo => !!a && a.family === 'IPv4')
    .sort((a, b) => Number(a.internal) - Number(b.internal));
  return addrs.map((a, i) => ({ ip: a.address, port, type: 'host', priority: candidatePriority('host', 65535 - i) }));
}
