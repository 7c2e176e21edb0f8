import net from 'node:net';

/** `::ffff:1.2.3.4` (an IPv4 peer on a dual-stack socket) → `1.2.3.4`. */
const MAPPED_V4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** The IPv4 address behind `address` (plain or IPv4-mapped IPv6), or null for a real IPv6 one. */
export function ipv4Of(address: string): string | null {
  if (net.isIPv4(address)) return address;
  return MAPPED_V4.exec(address)?.[1] ?? null;
}

/** `address` with an IPv4-mapped prefix stripped. */
export function unmapped(address: string): string {
  return ipv4Of(address) ?? address;
}

export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}

/**
 * Addresses no relay should send to: unspecified, loopback (unless the server itself is on
 * loopback), multicast and broadcast, and "this network".
 */
export function isForbiddenPeer(ip: string, allowLoopback: boolean): boolean {
  if (!net.isIPv4(ip)) return true;
  const first = Number(ip.split('.')[0]);
  if (first === 0 || first >= 224) return true;
  if (first === 127) return !allowLoopback;
  return false;
}
