import os from 'node:os';

/** The machine's IPv4 addresses, external ones first, for "give your clients this" hints. */
export function ipv4Addresses(): string[] {
  const out: { address: string; internal: boolean }[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4') out.push({ address: a.address, internal: a.internal });
  }
  return out.sort((a, b) => Number(a.internal) - Number(b.internal)).map((a) => a.address);
}
