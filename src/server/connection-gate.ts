import type { Clock } from './clock';
import type { Logger } from './logger';

export type Refusal = 'total' | 'address' | 'open_files';

/** What the refused client is told. */
const REFUSAL_TEXT: Record<Refusal, string> = {
  total: 'the server has as many connections as it takes',
  address: 'too many connections from your address',
  open_files: 'the server is at its open-file limit',
};

/** How often refusals are logged at most: a connection flood must not become a log flood. */
const LOG_EVERY_MS = 1000;

/**
 * Counts open connections, in total and per IP address, and refuses those over the caps. Each
 * refusal is logged, at most one line a second with how many were refused since the last one.
 */
export class ConnectionGate {
  private readonly perAddress = new Map<string, number>();
  private total = 0;
  private lastLog = -Infinity;
  private unlogged = 0;

  constructor(
    private readonly caps: { total: number; perAddress: number; openFiles: number },
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  get open(): number {
    return this.total;
  }

  /** Counts the connection in, or says why not (and logs it). */
  admit(address: string, remote: string): Refusal | null {
    const refusal = this.refusal(address);
    if (refusal) {
      this.logRefusal(refusal, remote);
      return refusal;
    }
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    this.total++;
    return null;
  }

  release(address: string): void {
    const n = this.perAddress.get(address) ?? 0;
    if (n <= 1) this.perAddress.delete(address);
    else this.perAddress.set(address, n - 1);
    this.total--;
  }

  /** The refusal's text for the client's final error. */
  static describe(refusal: Refusal): string {
    return REFUSAL_TEXT[refusal];
  }

  private refusal(address: string): Refusal | null {
    if (this.total >= this.caps.openFiles) return 'open_files';
    if (this.total >= this.caps.total) return 'total';
    if ((this.perAddress.get(address) ?? 0) >= this.caps.perAddress) return 'address';
    return null;
  }

  private logRefusal(refusal: Refusal, remote: string): void {
    const now = this.clock.now();
    if (now - this.lastLog < LOG_EVERY_MS) {
      this.unlogged++;
      return;
    }
    const fields: Record<string, unknown> = { reason: refusal, remote, open: this.total };
    if (this.unlogged) fields.refused_since_last = this.unlogged;
    this.log.warn('refused a connection', fields);
    this.lastLog = now;
    this.unlogged = 0;
  }
}
