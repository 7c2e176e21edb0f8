import net from 'node:net';
import os from 'node:os';

/**
 * Addresses to give clients for a server listening on `host`: the host itself, or for a wildcard
 * the machine's addresses, external ones first (IPv4 for `0.0.0.0`; IPv4 and IPv6 for `::`,
 * without link-local IPv6, which would need a zone).
 */
export function clientAddresses(host: string): string[] {
  const wildcard4 = host === '0.0.0.0';
  const wildcard6 = host === '::';
  if (!wildcard4 && !wildcard6) return [host];
  const out: { address: string; internal: boolean }[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv4' || (wildcard6 && a.family === 'IPv6' && !a.address.toLowerCase().startsWith('fe80:'))) {
        out.push({ address: a.address, internal: a.internal });
      }
    }
  }
  return out.sort((a, b) => Number(a.internal) - Number(b.internal)).map((a) => a.address);
}

/** `host:port`, with an IPv6 address in brackets (`[::1]:7100`), as `parley --server` takes it. */
export function hostPort(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}
