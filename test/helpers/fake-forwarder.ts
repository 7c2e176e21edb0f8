/**
 * A room's forwarder for tests, over a real UDP socket, doing what the server's does
 * (src/server/rooms/forwarder.ts): a member registers its address with a STUN Binding request
 * carrying its USERNAME and MESSAGE-INTEGRITY under its password (short-term credentials); the
 * answer is a Binding success with the address seen, signed with the same key. RTP from a
 * registered address is copied, unchanged, to every other registered member.
 */
import dgram from 'node:dgram';
import { STUN_BINDING_REQUEST, STUN_BINDING_SUCCESS, encodeStun, parseStun, verifyIntegrity } from '../../src/protocol/stun';
import type { Address } from '../../src/media/udp-link';

export class FakeForwarder {
  /** username → password, of the members allowed in. */
  private readonly credentials = new Map<string, string>();
  /** username → the address it registered from. */
  readonly registered = new Map<string, Address>();
  /** Binding requests refused (unknown user, bad integrity), and RTP from addresses not registered. */
  refused = 0;
  strangers = 0;
  /** RTP datagrams taken in, from anyone (held ones included). */
  rtpIn = 0;
  /** Datagrams copied out (one per recipient). */
  copied = 0;
  /** Binding requests that carried valid credentials, and those answered. */
  bindings = 0;
  answered = 0;
  /** Answer Binding requests (false: a forwarder that has gone quiet). */
  answering = true;
  /** Members whose packets are held back until `release()`: a path with delay and jitter. */
  readonly holding = new Set<string>();
  private held: { from: string; buf: Buffer }[] = [];

  private constructor(
    readonly socket: dgram.Socket,
    readonly address: Address,
  ) {
    socket.on('message', (m, r) => this.onMessage(m, { ip: r.address, port: r.port }));
  }

  static async start(): Promise<FakeForwarder> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    return new FakeForwarder(s, { ip: '127.0.0.1', port: s.address().port });
  }

  /** Lets a member in; returns what its `forward` offer would carry. */
  allow(username: string, password = `pw-${username}`): { port: number; username: string; password: string } {
    this.credentials.set(username, password);
    return { port: this.address.port, username, password };
  }

  /** Stops copying to or from a member (it left). */
  forget(username: string): void {
    this.credentials.delete(username);
    this.registered.delete(username);
  }

  /** Sends a datagram from the forwarder's own address (what a forged copy would look like). */
  send(buf: Buffer, to: Address): void {
    this.socket.send(buf, to.port, to.ip);
  }

  /** Copies out what was held back, in order. */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const h of held) this.copy(h.from, h.buf);
  }

  /** Forgets what was held back: those packets are lost. */
  discard(): void {
    this.held = [];
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }

  private onMessage(buf: Buffer, from: Address): void {
    if (buf.length > 0 && buf[0] < 4) return this.onStun(buf, from);
    if (buf.length < 12 || buf[0] >> 6 !== 2) return;
    this.rtpIn++;
    const sender = [...this.registered].find(([, a]) => a.ip === from.ip && a.port === from.port);
    if (!sender) {
      this.strangers++;
      return;
    }
    if (this.holding.has(sender[0])) this.held.push({ from: sender[0], buf });
    else this.copy(sender[0], buf);
  }

  private copy(from: string, buf: Buffer): void {
    for (const [name, to] of this.registered) {
      if (name === from) continue;
      this.socket.send(buf, to.port, to.ip);
      this.copied++;
    }
  }

  private onStun(buf: Buffer, from: Address): void {
    const msg = parseStun(buf);
    if (!msg || msg.type !== STUN_BINDING_REQUEST || msg.username === undefined) return;
    const password = this.credentials.get(msg.username);
    const key = password === undefined ? null : Buffer.from(password, 'utf8');
    if (!key || !verifyIntegrity(buf, msg, key)) {
      this.refused++;
      return;
    }
    this.bindings++;
    if (!this.answering) return;
    this.answered++;
    this.registered.set(msg.username, from);
    this.socket.send(encodeStun(STUN_BINDING_SUCCESS, msg.transactionId, { xorMappedAddress: from }, key), from.port, from.ip);
  }
}
