import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { hostCandidates, type Candidate } from './candidates';
import { MediaError } from './errors';

export interface Address {
  ip: string;
  port: number;
}

/** Sees a datagram before the `packet` event; returning true consumes it. Must not throw. */
export type Interceptor = (buf: Buffer, from: Address) => boolean;

export interface UdpLinkEvents {
  packet: [Buffer, Address];
  error: [Error];
}

/**
 * One UDP socket for a call's media. Every datagram in and out goes through `send` and the
 * `packet` event, the one place encryption or a relay wrapper will sit.
 */
export class UdpLink extends EventEmitter<UdpLinkEvents> {
  private closed = false;
  /** Sends the network refused (unreachable candidates, ICMP errors): counted, never thrown. */
  sendErrors = 0;
  /** Interceptors that threw: a bug of theirs, counted so one bad datagram cannot kill the socket. */
  interceptErrors = 0;
  /** Replaced, never mutated, so one may remove itself (or another) while datagrams are dispatched. */
  private interceptors: readonly Interceptor[] = [];

  private constructor(
    private readonly socket: dgram.Socket,
    readonly host: string,
    readonly port: number,
  ) {
    super();
    socket.on('message', (msg, rinfo) => this.dispatch(msg, { ip: rinfo.address, port: rinfo.port }));
    socket.on('error', (err) => this.emit('error', err));
  }

  /** Binds `host:port` (port 0 = any free port); rejects with a `socket` MediaError when it cannot. */
  static open(opts: { host?: string; port?: number } = {}): Promise<UdpLink> {
    const host = opts.host ?? '0.0.0.0';
    const port = opts.port ?? 0;
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: 'udp4' });
      const onError = (err: NodeJS.ErrnoException) => {
        socket.close();
        const why =
          err.code === 'EADDRINUSE' ? 'the port is in use' : err.code === 'EADDRNOTAVAIL' ? 'no local interface has that address' : err.code === 'EACCES' ? 'permission denied' : err.message;
        reject(new MediaError('socket', `cannot open UDP port ${host}:${port} for media: ${why}`, { detail: err.message, cause: err }));
      };
      socket.once('error', onError);
      socket.bind(port, host, () => {
        socket.off('error', onError);
        resolve(new UdpLink(socket, host, socket.address().port));
      });
    });
  }

  candidates(): Candidate[] {
    return hostCandidates(this.host, this.port);
  }

  /**
   * Lets `fn` see every datagram before the `packet` event, in the order added, and consume it by
   * returning true: a TURN client takes its server's datagrams so ICE and RTP never see relay
   * framing. Returns the function that removes it (idempotent).
   */
  intercept(fn: Interceptor): () => void {
    this.interceptors = [...this.interceptors, fn];
    return () => {
      this.interceptors = this.interceptors.filter((f) => f !== fn);
    };
  }

  private dispatch(msg: Buffer, from: Address): void {
    // An indexed loop over the current array: no iterator or closure per packet.
    const list = this.interceptors;
    for (let i = 0; i < list.length; i++) {
      try {
        if (list[i](msg, from)) return;
      } catch {
        this.interceptErrors++;
      }
    }
    this.emit('packet', msg, from);
  }

  send(buf: Buffer, to: Address): void {
    if (this.closed) return;
    this.socket.send(buf, to.port, to.ip, this.afterSend);
  }

  /** One callback for every send: a closure per packet would be garbage 50 times a second. */
  private readonly afterSend = (err: Error | null): void => {
    if (err) this.sendErrors++;
  };

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}
