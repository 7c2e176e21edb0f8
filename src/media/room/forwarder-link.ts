import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ForwardOffer } from '../../protocol/rooms';
import { STUN_BINDING_ERROR, STUN_BINDING_SUCCESS, STUN_BINDING_REQUEST, encodeStun, parseStun, verifyIntegrity } from '../../protocol/stun';
import { realTimers, type TimerHandle, type Timers } from '../../audio/timers';
import type { Address, UdpLink } from '../udp-link';

export interface ForwarderLinkOptions {
  link: UdpLink;
  /** The forwarder: the server's address and the room's forward port. */
  server: Address;
  forward: Pick<ForwardOffer, 'username' | 'password'>;
  /** How often the registration is refreshed once made (default 10 s). */
  keepaliveMs?: number;
  /** Give up when the first registration is not answered within this time (default 10 s). */
  timeoutMs?: number;
  /** First retransmission after this, doubling to `maxRtoMs` (defaults 100 and 1600 ms). */
  initialRtoMs?: number;
  maxRtoMs?: number;
  timers?: Timers;
}

export interface ForwarderLinkEvents {
  /** The forwarder answered; the address it sees this socket at (again when that changes). */
  registered: [Address];
  /** The first registration went unanswered for the whole timeout. */
  failed: [string];
}

/**
 * Registers this member's socket with the room's forwarder: a STUN Binding request with USERNAME
 * and MESSAGE-INTEGRITY under the password (short-term credentials, RFC 8489 §9.1), resent with
 * back-off until a success signed with the same key comes back; then the same again every
 * `keepaliveMs`, which keeps the NAT's mapping and the forwarder's registration alive. From an
 * address it has not registered, the forwarder first answers 401 with a NONCE for that address
 * (signed the same way): the request goes again at once carrying it, which proves this socket
 * receives at the address it sends from. The caller hands it the forwarder's STUN datagrams
 * (`handle`).
 */
export class ForwarderLink extends EventEmitter<ForwarderLinkEvents> {
  private readonly timers: Timers;
  private readonly key: Buffer;
  private transaction: Buffer | null = null;
  private rto = 0;
  private timer: TimerHandle | undefined;
  private deadline: TimerHandle | undefined;
  private mapped: Address | null = null;
  /** The forwarder's proof-of-address for where it sees this socket; sent with every request. */
  private nonce: string | undefined;
  private closed = false;
  /** Binding requests sent, first ones and retransmissions. */
  requestsSent = 0;
  /** STUN from the forwarder's address that was not a verified answer to the request in flight. */
  rejected = 0;

  constructor(private readonly opts: ForwarderLinkOptions) {
    super();
    this.timers = opts.timers ?? realTimers;
    this.key = Buffer.from(opts.forward.password, 'utf8');
  }

  /** The address the forwarder last reported, once registered. */
  get address(): Address | null {
    return this.mapped;
  }

  start(): void {
    if (this.closed || this.transaction) return;
    this.deadline = this.timers.setTimeout(() => {
      if (!this.mapped && !this.closed) {
        this.close();
        this.emit('failed', `the room's forwarder did not answer within ${(this.opts.timeoutMs ?? 10_000) / 1000} s`);
      }
    }, this.opts.timeoutMs ?? 10_000);
    this.begin();
  }

  /** A STUN datagram from the forwarder's address; true when it answered the request in flight. */
  handle(buf: Buffer): boolean {
    const msg = parseStun(buf);
    const t = this.transaction;
    if (!msg || !t || !msg.transactionId.equals(t) || !verifyIntegrity(buf, msg, this.key)) {
      this.rejected++;
      return false;
    }
    if (msg.type === STUN_BINDING_ERROR && msg.errorCode === 401 && msg.nonce !== undefined && msg.nonce !== this.nonce) {
      this.nonce = msg.nonce;
      this.begin();
      return true;
    }
    if (msg.type !== STUN_BINDING_SUCCESS || !msg.xorMappedAddress) {
      this.rejected++;
      return false;
    }
    this.transaction = null;
    this.schedule(this.opts.keepaliveMs ?? 10_000, () => this.begin());
    const a = msg.xorMappedAddress;
    if (!this.mapped || this.mapped.ip !== a.ip || this.mapped.port !== a.port) {
      const first = !this.mapped;
      this.mapped = { ip: a.ip, port: a.port };
      if (first) this.timers.clearTimeout(this.deadline);
      this.emit('registered', this.mapped);
    }
    return true;
  }

  close(): void {
    this.closed = true;
    this.transaction = null;
    this.timers.clearTimeout(this.timer);
    this.timers.clearTimeout(this.deadline);
    this.timer = undefined;
  }

  /** A new transaction: its first request now, retransmissions with back-off until answered. */
  private begin(): void {
    if (this.closed) return;
    this.transaction = randomBytes(12);
    this.rto = this.opts.initialRtoMs ?? 100;
    this.send();
  }

  private send(): void {
    const t = this.transaction;
    if (this.closed || !t) return;
    const attrs = this.nonce === undefined ? { username: this.opts.forward.username } : { username: this.opts.forward.username, nonce: this.nonce };
    this.opts.link.send(encodeStun(STUN_BINDING_REQUEST, t, attrs, this.key), this.opts.server);
    this.requestsSent++;
    const wait = this.rto;
    this.rto = Math.min(this.rto * 2, this.opts.maxRtoMs ?? 1600);
    this.schedule(wait, () => this.send());
  }

  private schedule(ms: number, fn: () => void): void {
    this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(fn, ms);
  }
}
