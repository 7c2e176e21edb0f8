import type { ServerMessage } from '../protocol';

/** A registered client as the broker sees it. */
export interface Session {
  readonly id: string;
  readonly name: string;
  /** The client's IP as its TCP connection shows it (IPv4-mapped prefix stripped). */
  readonly address?: string;
  /** The server address that connection reached: where this client can reach the server. */
  readonly localAddress?: string;
  /** The call this session is ringing or talking in, if any: one at a time. */
  callId: string | null;
  send(msg: ServerMessage): void;
  /** Bytes sent to this client that it has not taken yet: how far behind its reading is. */
  backlog(): number;
}

/** One page of sessions in name order. */
export interface Page {
  sessions: Session[];
  /** Sessions follow the last one of this page. */
  more: boolean;
}

/**
 * Names → sessions. Names are unique case-insensitively. In memory here; the seam for
 * a shared registry (several server nodes) is this interface.
 */
export interface Registry {
  /** Registers the session under its name; false when the name is taken. */
  claim(session: Session): boolean;
  release(session: Session): void;
  find(name: string): Session | undefined;
  /** Up to `limit` sessions in case-insensitive name order, starting after the name `after`. */
  page(after: string | undefined, limit: number): Page;
  all(): IterableIterator<Session>;
  readonly size: number;
}

/**
 * Sessions by lower-cased name, with the names also kept sorted (binary-search insertion), so a
 * page of the list costs a search and a slice, however many are online, and no sort per request.
 */
export class MemoryRegistry implements Registry {
  private readonly byKey = new Map<string, Session>();
  private readonly sorted: string[] = [];

  claim(session: Session): boolean {
    const key = session.name.toLowerCase();
    if (this.byKey.has(key)) return false;
    this.byKey.set(key, session);
    this.sorted.splice(this.firstAbove(key, true), 0, key);
    return true;
  }

  release(session: Session): void {
    const key = session.name.toLowerCase();
    if (this.byKey.get(key) !== session) return;
    this.byKey.delete(key);
    this.sorted.splice(this.firstAbove(key, true), 1);
  }

  find(name: string): Session | undefined {
    return this.byKey.get(name.toLowerCase());
  }

  page(after: string | undefined, limit: number): Page {
    const from = after === undefined ? 0 : this.firstAbove(after.toLowerCase(), false);
    const to = Math.min(this.sorted.length, from + limit);
    const sessions: Session[] = [];
    for (let i = from; i < to; i++) sessions.push(this.byKey.get(this.sorted[i])!);
    return { sessions, more: to < this.sorted.length };
  }

  all(): IterableIterator<Session> {
    return this.byKey.values();
  }

  get size(): number {
    return this.byKey.size;
  }

  /** The index of the first key above `key` (or at it, when `orAt`). */
  private firstAbove(key: string, orAt: boolean): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.sorted[mid];
      if (k < key || (!orAt && k === key)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
