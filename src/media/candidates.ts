import os from 'node:os';

/**
 * Where a peer can be reached. Only host candidates are gathered today; server-reflexive
 * (STUN) and relay candidates slot into the same list later.
 */
export type CandidateType = 'host' | 'srflx' | 'relay';

export interface Candidate {
  ip: string;
  port: number;
  type: CandidateType;
}

export function addressKey(a: { ip: string; port: number }): string {
  return `${a.ip}:${a.port}`;
}

/**
 * The IPv4 addresses of the local interfaces with the bound port. A socket bound to one
 * address is reachable only there; bound to the wildcard, at every interface address,
 * loopback last so a remote peer tries the routable ones first.
 */
export function hostCandidates(boundHost: string, port: number): Candidate[] {
  if (boundHost !== '0.0.0.0') return [{ ip: boundHost, port, type: 'host' }];
  const addrs = Object.values(os.networkInterfaces())
    .flat()
    .filter((a): a is os.NetworkInterfaceInfo => !!a && a.family === 'IPv4')
    .sort((a, b) => Number(a.internal) - Number(b.internal));
  return addrs.map((a) => ({ ip: a.address, port, type: 'host' }));
}
