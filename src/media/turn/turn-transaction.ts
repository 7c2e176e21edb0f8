/**
 * TURN requests to one server (RFC 8656 over RFC 8489): retransmission, matching answers to
 * requests, and the long-term credential dance (401 challenge, 438 stale nonce).
 */
import { randomBytes } from 'node:crypto';
import type { TimerHandle, Timers } from '../../audio/timers';
import { classOf, encodeStun, longTermKey, methodOf, stunType, verifyIntegrity, type StunAttributes, type StunMessage } from '../../protocol/stun';
import type { Address, UdpLink } from '../udp-link';

/**
 * When a request is (re)sent, in ms after the first send: RFC 8489 §6.2.1's doubling from a
 * 100 ms RTO (0, 100, 300, 700, 1500, 3100 …), for as long as the timeout allows.
 */
export function retransmitSchedule(timeoutMs: number): number[] {
  const out: number[] = [];
  for (let at = 0, gap = 100; at < timeoutMs; at += gap, gap *= 2) out.push(at);
  return out;
}

export type Answer = { kind: 'response'; msg: StunMessage } | { kind: 'timeout' } | { kind: 'cancelled' };

interface Pending {
  method: number;
  key: Buffer | undefined;
  timers: TimerHandle[];
  resolve: (a: Answer) => void;
}

/** The requests in flight to one server; only that server's answers to them are taken. */
export class Transactions {
  private readonly pending = new Map<string, Pending>();
  /** Requests sent again for want of an answer. */
  retransmits = 0;
  /** Success answers whose MESSAGE-INTEGRITY did not check out (or was missing): ignored. */
  badIntegrity = 0;

  constructor(
    private readonly link: UdpLink,
    private readonly server: Address,
    private readonly timers: Timers,
    private readonly timeoutMs: number,
  ) {}

  /** Sends a request (signed with `key` when given) until answered, timed out or cancelled. */
  request(method: number, attrs: StunAttributes, key?: Buffer): Promise<Answer> {
    const id = randomBytes(12);
    const packet = encodeStun(stunType(method, 'REQUEST'), id, attrs, key);
    return new Promise((resolve) => {
      const p: Pending = { method, key, timers: [], resolve };
      const hex = id.toString('hex');
      this.pending.set(hex, p);
      retransmitSchedule(this.timeoutMs).forEach((at, i) => {
        p.timers.push(
          this.timers.setTimeout(() => {
            if (i > 0) this.retransmits++;
            this.link.send(packet, this.server);
          }, at),
        );
      });
      p.timers.push(this.timers.setTimeout(() => this.finish(hex, { kind: 'timeout' }), this.timeoutMs));
      for (const t of p.timers) t.unref();
    });
  }

  /** Sends a request once and forgets it (the Refresh that deletes an allocation on close). */
  fireAndForget(method: number, attrs: StunAttributes, key?: Buffer): void {
    this.link.send(encodeStun(stunType(method, 'REQUEST'), randomBytes(12), attrs, key), this.server);
  }

  /**
   * A success or error message from the server: true when it answers a request of ours (and is
   * then consumed, even when ignored as forged), false when it is someone else's.
   */
  answer(raw: Buffer, msg: StunMessage): boolean {
    const hex = msg.transactionId.toString('hex');
    const p = this.pending.get(hex);
    if (!p) return false;
    if (methodOf(msg.type) !== p.method) return true;
    // A success to a signed request must be signed with the same key (RFC 8489 §9.2.4).
    if (classOf(msg.type) === 'SUCCESS' && p.key && !verifyIntegrity(raw, msg, p.key)) {
      this.badIntegrity++;
      return true;
    }
    this.finish(hex, { kind: 'response', msg });
    return true;
  }

  cancelAll(): void {
    for (const hex of [...this.pending.keys()]) this.finish(hex, { kind: 'cancelled' });
  }

  private finish(hex: string, answer: Answer): void {
    const p = this.pending.get(hex);
    if (!p) return;
    this.pending.delete(hex);
    for (const t of p.timers) this.timers.clearTimeout(t);
    p.resolve(answer);
  }
}

/** RFC 8489 §9.2: the realm and nonce the server gave, and the key they make with the password. */
export class LongTermAuth {
  private realm: string | undefined;
  private nonce: string | undefined;
  private key_: Buffer | undefined;

  constructor(
    private readonly username: string,
    private readonly password: string,
  ) {}

  get key(): Buffer | undefined {
    return this.key_;
  }

  /** USERNAME, REALM and NONCE once challenged; nothing before. */
  attrs(): StunAttributes {
    return this.key_ ? { username: this.username, realm: this.realm, nonce: this.nonce } : {};
  }

  /** Takes a 401's or 438's REALM and NONCE; false when the answer brings nothing new to try. */
  learn(msg: StunMessage): boolean {
    if (!msg.nonce || msg.nonce === this.nonce) return false;
    const realm = msg.realm ?? this.realm;
    if (realm === undefined) return false;
    if (realm !== this.realm || !this.key_) this.key_ = longTermKey(this.username, realm, this.password);
    this.realm = realm;
    this.nonce = msg.nonce;
    return true;
  }
}

/** Challenges and stale nonces answered per request: more means the server is not making sense. */
const MAX_AUTH_ROUNDS = 3;

/**
 * One request with long-term credentials: sent unsigned until the server challenges (401 with
 * REALM and NONCE), then signed; a 438 (stale nonce) or a 401 with a fresh nonce is retried with
 * it. The answer is the server's last word, or a timeout.
 */
export async function authenticatedRequest(tx: Transactions, auth: LongTermAuth, method: number, attrs: StunAttributes): Promise<Answer> {
  for (let round = 0; ; round++) {
    const answer = await tx.request(method, { ...attrs, ...auth.attrs() }, auth.key);
    if (answer.kind !== 'response' || classOf(answer.msg.type) !== 'ERROR' || round >= MAX_AUTH_ROUNDS) return answer;
    const status = answer.msg.errorCode;
    if ((status === 401 || status === 438) && auth.learn(answer.msg)) continue;
    return answer;
  }
}
