import { addressKey, addressScope, priorityOf, type Candidate, type CandidateType } from '../candidates';

/** What a path is, as the call screen and the JSON events say it. */
export type PathKind = 'host' | 'reflexive' | 'relay';

export interface PathInfo {
  kind: PathKind;
  /** This side's end as the peer sees it: its type and address (a NAT's mapping for srflx/prflx). */
  local: { type: CandidateType; ip: string; port: number };
  remote: { type: CandidateType; ip: string; port: number };
  /** The controlling side nominated this pair (USE-CANDIDATE). */
  nominated: boolean;
  /** Why this pair carries the audio now. */
  why: string;
}

export function pathKind(local: CandidateType, remote: CandidateType): PathKind {
  if (local === 'relay' || remote === 'relay') return 'relay';
  return local === 'host' && remote === 'host' ? 'host' : 'reflexive';
}

/** RFC 8445 §6.1.2.3: G is the controlling side's candidate priority, D the controlled side's. */
export function pairPriority(controlling: number, controlled: number): bigint {
  const g = BigInt(controlling);
  const d = BigInt(controlled);
  const [min, max] = g < d ? [g, d] : [d, g];
  return (1n << 32n) * min + 2n * max + (g > d ? 1n : 0n);
}

export interface ScopeRules {
  allowLoopback: boolean;
  allowLinkLocal: boolean;
}

export function scopeAllowed(ip: string, rules: ScopeRules): boolean {
  const scope = addressScope(ip);
  return scope === 'routable' || (scope === 'loopback' && rules.allowLoopback) || (scope === 'link-local' && rules.allowLinkLocal);
}

/**
 * The peer's candidates worth checking: usable IPv4 addresses, loopback and link-local only
 * when allowed, each address once, highest priority first (host before server-reflexive before
 * relay when the peer says nothing), at most `max`.
 */
export function candidatesToCheck(candidates: readonly Candidate[], opts: ScopeRules & { max: number }): (Candidate & { priority: number })[] {
  const seen = new Set<string>();
  const usable = candidates.filter((c) => {
    const key = addressKey(c);
    if (!scopeAllowed(c.ip, opts) || seen.has(key) || !(c.port >= 1 && c.port <= 65535)) return false;
    seen.add(key);
    return true;
  });
  // Array.prototype.sort is stable: the peer's order stands between equal priorities.
  return usable
    .map((c) => ({ ...c, priority: priorityOf(c) }))
    .sort((a, b) => b.priority - a.priority)
    .slice(0, Math.max(0, opts.max));
}
