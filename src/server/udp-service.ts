import dgram from 'node:dgram';
import { encodeBindingSuccess, looksLikeChannelData, looksLikeStun, parseStun, STUN_BINDING_REQUEST, STUN_MAX_BYTES, TURN_MAX_BYTES, type StunMessage } from '../protocol';
import type { Logger } from './logger';
import { ipv4Of } from './turn/ip';

/**
 * The port's receive buffer: every room member's stream and every relayed call come in through
 * this one socket, and the default (~200 KiB, a few hundred small datagrams once the kernel's
 * per-packet overhead is counted) overflows in a pause of a few milliseconds at tens of
 * thousands of packets a second. The kernel caps it at net.core.rmem_max.
 */
const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

/** Where the UDP service hands what is not a plain Binding request: the TURN relay, when one runs. */
export interface UdpRoutes {
  stun(msg: StunMessage, packet: Buffer, rinfo: dgram.RemoteInfo): void;
  channelData(packet: Buffer, rinfo: dgram.RemoteInfo): void;
  malformed(): void;
}

/** The room forwarder, when it runs: Binding requests with credentials, and media. */
export interface ForwardRoutes {
  binding(msg: StunMessage, packet: Buffer, rinfo: dgram.RemoteInfo): void;
  media(packet: Buffer, rinfo: dgram.RemoteInfo): void;
}

/**
 * The server's UDP port: answers STUN Binding requests (RFC 8489) so clients learn their
 * public address, hands TURN requests, indications and ChannelData to the relay (`routes`), and
 * Binding requests carrying credentials (USERNAME, MESSAGE-INTEGRITY: a room member registering)
 * and anything that is not STUN (media) to the room forwarder (`forward`). Without a forwarder
 * those are dropped, as are malformed or oversized datagrams. The socket's family follows the
 * address it binds (`udp6` for an IPv6 one; on `::` it is dual-stack and IPv4 peers arrive as
 * mapped addresses). XOR-MAPPED-ADDRESS is encoded for IPv4 peers only: requests from IPv6 peers
 * go unanswered.
 */
export async function startUdpService(
  host: string,
  family: 'IPv4' | 'IPv6',
  port: number,
  log: Logger,
  routes?: UdpRoutes,
  forward?: ForwardRoutes,
): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: family === 'IPv6' ? 'udp6' : 'udp4', recvBufferSize: RECEIVE_BUFFER_BYTES });
  socket.on('message', (packet, rinfo) => {
    try {
      if (looksLikeChannelData(packet)) return routes?.channelData(packet, rinfo);
      // Media is most of the traffic once rooms run: it is told apart before any STUN parsing.
      if (forward && !looksLikeStun(packet)) return forward.media(packet, rinfo);
      const msg = parseStun(packet, TURN_MAX_BYTES);
      if (!msg) return routes?.malformed();
      if (msg.type !== STUN_BINDING_REQUEST) return routes?.stun(msg, packet, rinfo);
      // A Binding request is small; larger ones (TURN's bound) are not answered, as before.
      if (packet.length > STUN_MAX_BYTES) return;
      if (msg.username !== undefined || msg.integrityAt !== undefined) return forward?.binding(msg, packet, rinfo);
      const v4 = ipv4Of(rinfo.address);
      if (!v4) return;
      socket.send(encodeBindingSuccess(msg.transactionId, v4, rinfo.port), rinfo.port, rinfo.address);
    } catch (err) {
      log.warn('udp: could not answer a packet', { remote: `${rinfo.address}:${rinfo.port}`, error: (err as Error).message });
    }
  });
  socket.on('error', (err) => log.warn('udp socket error', { error: err.message }));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return socket;
}
