/** A test's stand-in for a peer's ICE agent: credentials, and a socket that answers checks. */
import type dgram from 'node:dgram';
import type { Agreement } from '../../src/media/negotiation';
import { encodeStun, parseStun, STUN_BINDING_REQUEST, STUN_BINDING_SUCCESS, verifyIntegrity } from '../../src/protocol/stun';

export const SELF_ICE = { ufrag: 'self', pwd: 'selfpasswordselfpassword' };
export const PEER_ICE = { ufrag: 'peer', pwd: 'peerpasswordpeerpassword' };

/** The ICE part of an Agreement for a session that controls and talks to a PEER_ICE peer. */
export const iceFields: Pick<Agreement, 'localCandidates' | 'controlling' | 'localIce' | 'remoteIce'> = {
  localCandidates: [],
  controlling: true,
  localIce: SELF_ICE,
  remoteIce: PEER_ICE,
};

/** Answers every check sent to `socket` that carries PEER_ICE's credentials, as the peer would. */
export function answerChecks(socket: dgram.Socket): void {
  const key = Buffer.from(PEER_ICE.pwd);
  socket.on('message', (m, r) => {
    const msg = parseStun(m);
    if (!msg || msg.type !== STUN_BINDING_REQUEST || !verifyIntegrity(m, msg, key)) return;
    socket.send(encodeStun(STUN_BINDING_SUCCESS, msg.transactionId, { xorMappedAddress: { ip: r.address, port: r.port } }, key), r.port, r.address);
  });
}
