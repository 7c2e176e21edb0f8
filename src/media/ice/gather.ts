import { randomBytes } from 'node:crypto';
import { realTimers, type TimerHandle, type Timers } from '../../audio/timers';
import { parseBindingSuccess, encodeBindingRequest } from '../../protocol/stun';
import { addressScope, candidatePriority, type Candidate } from '../candidates';
import type { Address, UdpLink } from '../udp-link';

export interface StunServer {
  host: string;
  port: number;
}

/** Retransmissions of the Binding request (RFC 8489 §6.2.1's doubling, cut short). */
const RETRIES_MS = [0, 100, 300, 700];

/**
 * This socket's server-reflexive address (RFC 8489): a Binding request to a STUN server (the
 * parley server's UDP port, or any public one) from the media socket itself, so the address
 * is the NAT's mapping for that very socket. Resolves null when no answer comes within
 * `timeoutMs`; only an answer carrying our random transaction id counts.
 */
export function gatherReflexive(link: UdpLink, server: StunServer, opts: { timeoutMs?: number; timers?: Timers } = {}): Promise<Candidate | null> {
  const timers = opts.timers ?? realTimers;
  const timeoutMs = opts.timeoutMs ?? 1000;
  const id = randomBytes(12);
  const request = encodeBindingRequest(id);
  return new Promise((resolve) => {
    const pending: TimerHandle[] = [];
    const done = (c: Candidate | null) => {
      for (const t of pending) timers.clearTimeout(t);
      link.off('packet', onPacket);
      resolve(c);
    };
    const onPacket = (buf: Buffer, _from: Address) => {
      const res = parseBindingSuccess(buf);
      if (!res || !res.transactionId.equals(id) || addressScope(res.address) === 'unusable' || res.port === 0) return;
      done({ ip: res.address, port: res.port, type: 'srflx', priority: candidatePriority('srflx') });
    };
    link.on('packet', onPacket);
    for (const at of RETRIES_MS.filter((ms) => ms < timeoutMs)) {
      const t = timers.setTimeout(() => link.send(request, { ip: server.host, port: server.port }), at);
      t.unref();
      pending.push(t);
    }
    const end = timers.setTimeout(() => done(null), timeoutMs);
    end.unref();
    pending.push(end);
  });
}
