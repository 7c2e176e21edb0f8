import { candidatePriority, type Candidate } from '../media/candidates';
import type { MediaSession } from '../media/media-session';
import { RelayAllocation } from '../media/turn/relay-allocation';
import type { UdpLink } from '../media/udp-link';
import type { TurnOffer } from '../protocol';
import { oneLine } from '../audio/errors';

/** `turn:HOST[:PORT][?transport=udp]` (RFC 7065); port 3478 when left out. Null for anything else (TLS, TCP, IPv6). */
export function parseTurnUrl(url: string): { host: string; port: number } | null {
  const m = /^turn:([A-Za-z0-9.-]+)(?::(\d{1,5}))?(?:\?transport=udp)?$/i.exec(url);
  if (!m) return null;
  const port = m[2] === undefined ? 3478 : Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: m[1], port } : null;
}

type RelayState =
  | { kind: 'allocating'; promised: boolean }
  | { kind: 'ready'; allocation: RelayAllocation }
  | { kind: 'handed-on'; allocation: RelayAllocation }
  | { kind: 'unavailable'; why: string }
  | { kind: 'closed' };

/**
 * A call's TURN allocation (RFC 8656) on its media socket, started as soon as the server has
 * minted the call's credentials (the caller's `ringing`, the callee's `incoming`), so it is
 * usually ready by the time media starts. A relay that cannot be had is no failure of the call:
 * direct paths may still work, and `why` says what the relay answered.
 */
export class CallRelay {
  private state: RelayState = { kind: 'allocating', promised: false };
  /** Resolves when the allocation is made or known to be unavailable; never rejects. */
  readonly settled: Promise<void>;
  /** Ends an allocation still under way when the call does: its retries would hold the call for seconds. */
  private readonly abort = new AbortController();

  private constructor(link: UdpLink, turn: TurnOffer) {
    this.settled = allocate(link, turn, this.abort.signal).then(
      (allocation) => {
        if (this.state.kind === 'allocating') this.state = { kind: 'ready', allocation };
        else allocation.close();
      },
      (err: unknown) => {
        if (this.state.kind === 'allocating') this.state = { kind: 'unavailable', why: oneLine((err as Error).message) };
      },
    );
  }

  static start(link: UdpLink, turn: TurnOffer): CallRelay {
    return new CallRelay(link, turn);
  }

  /** Why there is no relay, once that is known. */
  get why(): string | null {
    return this.state.kind === 'unavailable' ? this.state.why : null;
  }

  /** The relay candidate, once allocated. */
  candidate(): Candidate | null {
    const s = this.state;
    if (s.kind !== 'ready' && s.kind !== 'handed-on') return null;
    return { ip: s.allocation.relayed.ip, port: s.allocation.relayed.port, type: 'relay', priority: candidatePriority('relay') };
  }

  /**
   * Gives the allocation to `session` when it is ready (at once if it is): its pairs are checked
   * and the session closes it. `ready` is told the relay candidate, for trickling it.
   */
  handTo(session: MediaSession, ready: (c: Candidate) => void): void {
    // Promised to the session: closing the call's prepared media no longer closes it.
    if (this.state.kind === 'allocating') this.state = { kind: 'allocating', promised: true };
    const onStopped = () => this.abort.abort();
    session.once('stopped', onStopped);
    void this.settled.then(() => {
      session.off('stopped', onStopped);
      const s = this.state;
      if (s.kind !== 'ready') return;
      this.state = { kind: 'handed-on', allocation: s.allocation };
      session.addRelay(s.allocation);
      ready(this.candidate()!);
    });
  }

  /** Releases an allocation not handed (or promised) to a session; safe to call more than once. */
  close(): void {
    const s = this.state;
    if (s.kind === 'handed-on' || (s.kind === 'allocating' && s.promised)) return;
    if (s.kind === 'ready') s.allocation.close();
    this.state = { kind: 'closed' };
    this.abort.abort();
  }
}

async function allocate(link: UdpLink, turn: TurnOffer, signal: AbortSignal): Promise<RelayAllocation> {
  const at = parseTurnUrl(turn.url);
  if (!at) throw new Error(`the server offered a relay at "${turn.url}", which is not a turn: URL parley can use`);
  return RelayAllocation.allocate(link, { host: at.host, port: at.port, username: turn.username, password: turn.password }, { signal });
}
