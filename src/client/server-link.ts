/**
 * The phone's tie to the server across dropped connections: one SignalingClient at a time, and
 * when it closes under a registered name, new ones with back-off until one registers again —
 * with the resume token, so the server hands back the same session (name, call), or, when the
 * server no longer knows the token (it restarted), as a fresh registration of the same name.
 * Calls are peer to peer, so none of this touches a live call's media.
 */
import { EventEmitter } from 'node:events';
import type { ServerMessage, ServerMessageOf, UserInfo } from '../protocol';
import type { FailureCause } from './call-reasons';
import { SignalingClient, SignalingError, type CallMessageEvents, type ConnectOptions, type HelloProver, type Request, type RoomMessageEvents } from './signaling-client';

export interface ReconnectOptions {
  /** Give up after this long without a server (default 120 s); 0 never reconnects. */
  giveUpMs?: number;
  /** The first wait before reconnecting (default 250 ms); doubled each attempt, with ±25 % jitter. */
  firstDelayMs?: number;
  /** The longest wait between attempts (default 5 s). */
  maxDelayMs?: number;
}

export const DEFAULT_RECONNECT_GIVE_UP_MS = 120_000;

export interface ServerLinkEvents extends CallMessageEvents, RoomMessageEvents {
  /** The connection dropped; reconnecting has begun. */
  reconnecting: [{ reason: string; code?: string }];
  /** Registered again: `resumed` when the server gave the same session back, false after a restart. */
  reconnected: [{ resumed: boolean; attempts: number; ms: number }];
  /** For good: closed here, or given up on. */
  close: [{ error?: ServerMessageOf<'error'>; reason: string }];
}

/**
 * The wait before reconnect attempt `attempts + 1`: `firstMs` doubling each attempt up to `maxMs`,
 * times 0.75–1.25 so that clients dropped together (a server restart) do not return together.
 */
export function reconnectDelay(attempts: number, firstMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.min(maxMs, firstMs * 2 ** Math.min(attempts, 30)) * (0.75 + random() / 2);
}

type LinkState =
  | { phase: 'open'; client: SignalingClient }
  | { phase: 'reconnecting'; since: number; attempts: number; timer: NodeJS.Timeout | null; reason: string }
  | { phase: 'closed' };

const FORWARDED = ['incoming', 'accepted', 'rejected', 'ended', 'candidate', 'peer_reconnecting', 'peer_reconnected', 'room'] as const;

export class ServerLink extends EventEmitter<ServerLinkEvents> {
  private state: LinkState;
  private name: string | undefined;
  private token: string | undefined;
  private prove: HelloProver | undefined;
  private readonly giveUpMs: number;
  private readonly firstDelayMs: number;
  private readonly maxDelayMs: number;

  private constructor(
    client: SignalingClient,
    private readonly opts: ConnectOptions,
    reconnect: ReconnectOptions,
  ) {
    super();
    this.giveUpMs = reconnect.giveUpMs ?? DEFAULT_RECONNECT_GIVE_UP_MS;
    this.firstDelayMs = reconnect.firstDelayMs ?? 250;
    this.maxDelayMs = reconnect.maxDelayMs ?? 5000;
    this.state = { phase: 'open', client };
    this.attach(client);
  }

  /** Connects once; rejects with ConnectError or ServerTrustError as SignalingClient.connect does. */
  static async connect(opts: ConnectOptions, reconnect: ReconnectOptions = {}): Promise<ServerLink> {
    return new ServerLink(await SignalingClient.connect(opts), opts, reconnect);
  }

  get welcome(): ServerMessageOf<'welcome'> | null {
    return this.state.phase === 'open' ? this.state.client.welcome : null;
  }

  /** Whether the connection is TLS. */
  get secure(): boolean {
    return this.opts.tls !== undefined;
  }

  get online(): boolean {
    return this.state.phase === 'open';
  }

  /** Registers `name`, proved with `prove` when given, then again by the same proof on every reconnect. */
  async hello(name: string, prove?: HelloProver): Promise<ServerMessageOf<'welcome'>> {
    const welcome = await this.client().hello(name, prove);
    this.prove = prove;
    this.name = welcome.name;
    this.token = welcome.resume;
    return welcome;
  }

  list(): Promise<UserInfo[]> {
    return this.use((c) => c.list());
  }

  lookup(name: string): Promise<UserInfo> {
    return this.use((c) => c.lookup(name));
  }

  call(to: string, offer: Record<string, unknown>): Promise<ServerMessageOf<'ringing'>> {
    return this.use((c) => c.call(to, offer));
  }

  answer(call: string, reply: Parameters<SignalingClient['answer']>[1]): Promise<void> {
    return this.use((c) => c.answer(call, reply));
  }

  cancel(call: string): Promise<void> {
    return this.use((c) => c.cancel(call));
  }

  hangup(call: string, failure?: { reason: 'failed'; cause?: FailureCause }): Promise<void> {
    return this.use((c) => c.hangup(call, failure));
  }

  candidate(call: string, candidate: Record<string, unknown>): Promise<void> {
    return this.use((c) => c.candidate(call, candidate));
  }

  /** Leaves for good: says bye (the name is freed at once) and stops reconnecting. */
  /** Any request, on the connection of the moment; rejects with SignalingError when there is none. */
  request(msg: Request): Promise<ServerMessage> {
    return this.use((c) => c.request(msg));
  }

  async close(): Promise<void> {
    const s = this.state;
    this.state = { phase: 'closed' };
    if (s.phase === 'open') await s.client.close();
    else if (s.phase === 'reconnecting' && s.timer) clearTimeout(s.timer);
  }

  private client(): SignalingClient {
    if (this.state.phase !== 'open') throw new SignalingError('disconnected', this.state.phase === 'closed' ? 'not connected to the server' : 'reconnecting to the server');
    return this.state.client;
  }

  private use<T>(f: (c: SignalingClient) => Promise<T>): Promise<T> {
    try {
      return f(this.client());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private attach(client: SignalingClient): void {
    const on = client.on.bind(client) as (e: string, f: (m: unknown) => void) => void;
    for (const type of FORWARDED) on(type, (m) => void (this.emit as (e: string, m: unknown) => boolean)(type, m));
    client.on('close', (info) => this.lost(client, info));
  }

  private lost(client: SignalingClient, info: { error?: ServerMessageOf<'error'>; reason: string }): void {
    const s = this.state;
    if (s.phase !== 'open' || s.client !== client) return;
    client.removeAllListeners();
    // Only a registered client has a name to come back to.
    if (this.name === undefined || this.giveUpMs <= 0) {
      this.state = { phase: 'closed' };
      this.emit('close', info);
      return;
    }
    this.state = { phase: 'reconnecting', since: Date.now(), attempts: 0, timer: null, reason: info.reason };
    this.emit('reconnecting', info.error ? { reason: info.reason, code: info.error.code } : { reason: info.reason });
    this.schedule();
  }

  private schedule(): void {
    const s = this.state;
    if (s.phase !== 'reconnecting') return;
    const waited = Date.now() - s.since;
    if (waited >= this.giveUpMs) {
      this.state = { phase: 'closed' };
      this.emit('close', { reason: `no server for ${Math.round(waited / 1000)} s (last: ${s.reason})` });
      return;
    }
    const delay = Math.min(reconnectDelay(s.attempts, this.firstDelayMs, this.maxDelayMs), this.giveUpMs - waited);
    s.timer = setTimeout(() => void this.attempt(), delay);
  }

  private async attempt(): Promise<void> {
    const s = this.state;
    if (s.phase !== 'reconnecting') return;
    s.timer = null;
    s.attempts++;
    let client: SignalingClient | undefined;
    try {
      client = await SignalingClient.connect(this.opts);
      const welcome = await client.hello(this.name!, this.prove, this.token);
      if (this.state !== s) return void client.close();
      this.token = welcome.resume;
      this.state = { phase: 'open', client };
      this.attach(client);
      this.emit('reconnected', { resumed: welcome.resumed === true, attempts: s.attempts, ms: Date.now() - s.since });
    } catch (err) {
      // Unreachable, refused (the name held by someone else after a restart), or dropped again: try later.
      void client?.close();
      if (this.state !== s) return;
      s.reason = (err as Error).message;
      this.schedule();
    }
  }
}
