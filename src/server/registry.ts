import type { ServerMessage } from '../protocol';

/** A registered client as the broker sees it. */
export interface Session {
  readonly id: string;
  readonly name: string;
  /** The call this session is ringing or talking in, if any: one at a time. */
  callId: string | null;
  send(msg: ServerMessage): void;
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
  all(): IterableIterator<Session>;
  readonly size: number;
}

export class MemoryRegistry implements Registry {
  private readonly byKey = new Map<string, Session>();

  claim(session: Session): boolean {
    const key = session.name.toLowerCase();
    if (this.byKey.has(key)) return false;
    this.byKey.set(key, session);
    return true;
  }

  release(session: Session): void {
    const key = session.name.toLowerCase();
    if (this.byKey.get(key) === session) this.byKey.delete(key);
  }

  find(name: string): Session | undefined {
    return this.byKey.get(name.toLowerCase());
  }

  all(): IterableIterator<Session> {
    return this.byKey.values();
  }

  get size(): number {
    return this.byKey.size;
  }
}
