import type { Allocation } from './allocation';

/**
 * Every allocation, found the three ways the relay needs: by the client's address and port (each
 * request and ChannelData), by call (to end them with it), and by relay port (a peer that is
 * itself one of this server's relay sockets). Also the addresses relay sockets were given out on.
 */
export class AllocationTable {
  private readonly byClient = new Map<string, Allocation>();
  private readonly byCall = new Map<string, Set<Allocation>>();
  private readonly byRelayPort = new Map<number, Allocation>();
  /** Addresses relay sockets were given out on: a peer there is this server. */
  private readonly ownIps = new Set<string>();

  constructor(ownIp?: string) {
    if (ownIp) this.ownIps.add(ownIp);
  }

  get size(): number {
    return this.byClient.size;
  }

  add(a: Allocation): void {
    this.byClient.set(clientKey(a.clientAddress, a.client.port), a);
    let set = this.byCall.get(a.user.callId);
    if (!set) this.byCall.set(a.user.callId, (set = new Set()));
    set.add(a);
  }

  /** Its socket is bound: it may now be found as a peer. */
  opened(a: Allocation): void {
    if (!a.relayed) return;
    this.byRelayPort.set(a.relayed.port, a);
    this.ownIps.add(a.relayed.ip);
  }

  delete(a: Allocation): void {
    this.byClient.delete(clientKey(a.clientAddress, a.client.port));
    const set = this.byCall.get(a.user.callId);
    set?.delete(a);
    if (set?.size === 0) this.byCall.delete(a.user.callId);
    if (a.relayed && this.byRelayPort.get(a.relayed.port) === a) this.byRelayPort.delete(a.relayed.port);
  }

  /** The allocation of the client at `address` (as the socket reports it) and `port`. */
  client(address: string, port: number): Allocation | undefined {
    return this.byClient.get(clientKey(address, port));
  }

  ofCall(callId: string): Allocation[] {
    return [...(this.byCall.get(callId) ?? [])];
  }

  /** Allocations `name` holds in call `callId`. */
  count(callId: string, name: string): number {
    let n = 0;
    for (const a of this.byCall.get(callId) ?? []) if (a.user.name === name) n++;
    return n;
  }

  atRelayPort(port: number): Allocation | undefined {
    return this.byRelayPort.get(port);
  }

  isOwnIp(ip: string): boolean {
    return this.ownIps.has(ip);
  }

  all(): Allocation[] {
    return [...this.byClient.values()];
  }
}

function clientKey(address: string, port: number): string {
  return `${address}|${port}`;
}
