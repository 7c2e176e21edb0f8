import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { decodeProbe, encodeProbe } from '../protocol/rtp';
import { addressKey, type Candidate } from './candidates';
import type { Address, UdpLink } from './udp-link';

export interface PeerPathEvents {
  /** A candidate answered a check: media now flows to `address`. */
  selected: [Address];
  rtt: [number];
}

const CHECK_INTERVAL_MS = 50;
const PROBE_INTERVAL_MS = 1000;

/**
 * Which address the peer is at. Until a path is chosen, pings go to every remote candidate
 * (connectivity checks); the first to answer with a pong carrying the peer's SSRC becomes the
 * path, and pings then continue once a second to measure the round-trip time. Only packets
 * from the peer's candidates (later: from the chosen path) are let through.
 */
export class PeerPath extends EventEmitter<PeerPathEvents> {
  private readonly allowed: Set<string>;
  private chosen: Address | null = null;
  private timer: NodeJS.Timeout | undefined;
  rttMs: number | null = null;

  constructor(
    private readonly link: UdpLink,
    private readonly candidates: Candidate[],
    private readonly localSsrc: number,
    private readonly remoteSsrc: number,
  ) {
    super();
    this.allowed = new Set(candidates.map(addressKey));
  }

  get address(): Address | null {
    return this.chosen;
  }

  start(): void {
    this.check();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Whether a datagram from `from` may be the peer's. */
  accepts(from: Address): boolean {
    return this.chosen ? this.chosen.ip === from.ip && this.chosen.port === from.port : this.allowed.has(addressKey(from));
  }

  /** Handles an RTCP packet from an accepted address; false if it was not a probe of the peer. */
  handleProbe(buf: Buffer, from: Address): boolean {
    const probe = decodeProbe(buf);
    if (!probe || probe.ssrc !== (probe.kind === 'ping' ? this.remoteSsrc : this.localSsrc)) return false;
    if (probe.kind === 'ping') {
      this.link.send(encodeProbe({ kind: 'pong', ssrc: probe.ssrc, sentAt: probe.sentAt }), from);
      return true;
    }
    const rtt = performance.now() - probe.sentAt;
    this.rttMs = rtt;
    this.emit('rtt', rtt);
    if (!this.chosen) {
      this.chosen = from;
      this.emit('selected', from);
    }
    return true;
  }

  private check = (): void => {
    const ping = encodeProbe({ kind: 'ping', ssrc: this.localSsrc, sentAt: performance.now() });
    if (this.chosen) this.link.send(ping, this.chosen);
    else for (const c of this.candidates) this.link.send(ping, c);
    this.timer = setTimeout(this.check, this.chosen ? PROBE_INTERVAL_MS : CHECK_INTERVAL_MS);
    this.timer.unref();
  };
}
