import { createHmac, randomBytes } from 'node:crypto';
import type { Clock } from '../clock';

/** How long a NONCE stays good before the client is told 438 Stale Nonce and given a new one. */
export const NONCE_LIFETIME_MS = 10 * 60_000;

/**
 * Stateless nonces (RFC 8489 §9.2): an expiry and an HMAC over it and the client's address,
 * under a per-process key. Nothing is stored per client, so a flood of unauthenticated requests
 * costs the relay no memory.
 */
export class NonceMint {
  private readonly key = randomBytes(16);

  constructor(
    private readonly clock: Clock,
    private readonly lifetimeMs = NONCE_LIFETIME_MS,
  ) {}

  issue(ip: string, port: number): string {
    const expiry = Math.ceil(this.clock.now() + this.lifetimeMs);
    return `${expiry.toString(36)}.${this.mac(ip, port, expiry)}`;
  }

  /** Whether `nonce` was issued here to this address and has not expired. */
  valid(nonce: string, ip: string, port: number): boolean {
    const dot = nonce.indexOf('.');
    if (dot < 1 || dot > 12) return false;
    const expiry = parseInt(nonce.slice(0, dot), 36);
    if (!Number.isSafeInteger(expiry) || expiry.toString(36) !== nonce.slice(0, dot)) return false;
    if (expiry <= this.clock.now()) return false;
    return nonce.slice(dot + 1) === this.mac(ip, port, expiry);
  }

  private mac(ip: string, port: number, expiry: number): string {
    return createHmac('sha1', this.key).update(`${ip}:${port}:${expiry}`).digest('base64url').slice(0, 22);
  }
}
