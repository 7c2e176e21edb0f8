import dgram from 'node:dgram';
import { encodeBindingSuccess, parseStun, STUN_BINDING_REQUEST } from '../protocol';
import type { Logger } from './logger';

/** `::ffff:1.2.3.4` (an IPv4 peer on a dual-stack socket) → `1.2.3.4`. */
const MAPPED_V4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/**
 * The server's UDP port: answers STUN Binding requests (RFC 8489) so clients learn their
 * public address. Anything else is ignored: malformed or oversized messages, and checks
 * carrying ICE credentials (USERNAME, MESSAGE-INTEGRITY), which are meant for a peer, not us. The socket's family follows the address it binds
 * (`udp6` for an IPv6 one; on `::` it is dual-stack and IPv4 peers arrive as mapped addresses).
 * XOR-MAPPED-ADDRESS is encoded for IPv4 peers only: requests from IPv6 peers go unanswered.
 */
export async function startUdpService(host: string, family: 'IPv4' | 'IPv6', port: number, log: Logger): Promise<dgram.Socket> {
  const socket = dgram.createSocket(family === 'IPv6' ? 'udp6' : 'udp4');
  socket.on('message', (packet, rinfo) => {
    try {
      const msg = parseStun(packet);
      if (!msg || msg.type !== STUN_BINDING_REQUEST || msg.username !== undefined || msg.integrityAt !== undefined) return;
      const v4 = rinfo.family === 'IPv4' ? rinfo.address : MAPPED_V4.exec(rinfo.address)?.[1];
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
