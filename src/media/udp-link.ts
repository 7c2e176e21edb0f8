import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { hostCandidates, type Candidate } from './candidates';
import { MediaError } from './errors';

export interface Address {
  ip: string;
  port: number;
}

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

  private constructor(
    private readonly socket: dgram.Socket,
    readonly host: string,
    readonly port: number,
  ) {
    super();
    socket.on('message', (msg, rinfo) => this.emit('packet', msg, { ip: rinfo.address, port: rinfo.port }));
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
