/**
 * A call's network path as the phone sees it: the candidates offered (host plus the
 * server-reflexive address learned by STUN), candidates trickled both ways, and a new
 * reflexive address learned again when the path is lost (the NAT may have given this socket
 * a new mapping, which the peer can only check once told).
 */
import { addressKey, type Candidate } from '../media/candidates';
import { MediaError } from '../media/errors';
import type { CallRelay } from './call-relay';
import { gatherReflexive, type StunServer } from '../media/ice/gather';
import type { PathInfo } from '../media/ice/pairs';
import type { MediaSession } from '../media/media-session';
import { parseCandidate } from '../media/negotiation';
import type { UdpLink } from '../media/udp-link';

/** New reflexive addresses this side trickles in one call, at most (network changes). */
const MAX_TRICKLED = 4;

/**
 * The candidates to offer: `offered` (host candidates, perhaps rewritten by the phone's hook)
 * plus this socket's server-reflexive address when a STUN server answers and the address is
 * not one of the socket's own (no NAT on the way).
 */
export async function gatherCandidates(link: UdpLink, offered: Candidate[], stun: StunServer | null): Promise<Candidate[]> {
  if (!stun) return offered;
  const srflx = await gatherReflexive(link, stun);
  const own = new Set(link.candidates().map(addressKey));
  return srflx && !own.has(addressKey(srflx)) ? [...offered, srflx] : offered;
}

/** Resolves with the first path once a pair answers both ways; rejects with the session's MediaError, or when it stops first. */
export function whenConnected(session: MediaSession): Promise<PathInfo> {
  const now = session.path;
  if (now) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    const done = () => {
      session.off('connected', onConnected);
      session.off('failed', onFailed);
      session.off('stopped', onStopped);
    };
    const onConnected = (p: PathInfo) => (done(), resolve(p));
    const onFailed = (err: MediaError) => (done(), reject(err));
    const onStopped = (err: MediaError | undefined) => (done(), reject(err ?? new MediaError('no_path', 'the call ended before a media path answered')));
    session.on('connected', onConnected);
    session.on('failed', onFailed);
    session.on('stopped', onStopped);
  });
}

/** Trickling for one call: the peer's candidates in, new local ones out. */
export class CallPath {
  private trickled = 0;
  private readonly known: Set<string>;

  constructor(
    readonly callId: string,
    private readonly session: MediaSession,
    private readonly link: UdpLink,
    local: Candidate[],
    private readonly stun: StunServer | null,
    private readonly send: (c: Candidate) => Promise<void>,
  ) {
    this.known = new Set([...local, ...link.candidates()].map(addressKey));
    session.on('disconnected', this.onDisconnected);
  }

  /** A `candidate` message's body from the peer: checked only if valid, allowed and within the limit. */
  remote(body: unknown): boolean {
    const c = parseCandidate(body);
    return c !== null && this.session.addRemoteCandidate(c);
  }

  /**
   * The call's relay: handed to the session when it is allocated, and its candidate trickled
   * unless the offer or answer carried it already.
   */
  useRelay(relay: CallRelay): void {
    relay.handTo(this.session, (c) => {
      if (this.known.has(addressKey(c))) return;
      this.known.add(addressKey(c));
      void this.send(c).catch(() => undefined);
    });
  }

  dispose(): void {
    this.session.off('disconnected', this.onDisconnected);
  }

  private readonly onDisconnected = (): void => {
    if (!this.stun || this.trickled >= MAX_TRICKLED) return;
    void gatherReflexive(this.link, this.stun).then((c) => {
      if (!c || this.known.has(addressKey(c))) return;
      this.known.add(addressKey(c));
      this.trickled++;
      this.session.addLocalCandidate(c);
      return this.send(c);
    }).catch(() => undefined);
  };
}
