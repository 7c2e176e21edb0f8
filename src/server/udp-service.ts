import dgram from 'node:dgram';
import { encodeBindingSuccess, parseBindingRequest } from '../protocol';
import type { Logger } from './logger';

/**
 * The server's UDP port: answers STUN Binding requests (RFC 5389) so clients learn their
 * public address. Anything else is ignored.
 */
export async function startUdpService(host: string, port: number, log: Logger): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (packet, rinfo) => {
    const txid = parseBindingRequest(packet);
    if (!txid || rinfo.family !== 'IPv4') return;
    socket.send(encodeBindingSuccess(txid, rinfo.address, rinfo.port), rinfo.port, rinfo.address);
  });
  socket.on('error', (err) => log.warn(`udp: ${err.message}`));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return socket;
}
