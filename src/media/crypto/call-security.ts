/**
 * One side's encryption for one call: a fresh ephemeral key, its signed description for the
 * offer or answer, and — once the other side's description is in — the call's keys in this
 * side's send/receive terms, or why there are none.
 */
import type { Identity } from './identity';
import { fingerprintOf } from './identity';
import { EphemeralKey, deriveCallKeys, type SideFacts } from './key-schedule';
import { signMediaKey, verifyMediaKey, type MediaKey, type Role } from './media-key';
import type { DirectionKey } from './srtp-gcm';

/** A call's keys from one side's point of view. */
export interface MediaKeys {
  send: DirectionKey;
  receive: DirectionKey;
  /** The short authentication string, the same on both sides when nobody is in between. */
  sas: string;
  /** The peer's identity key (base64url) and its fingerprint. */
  peerIdentity: string;
  peerFingerprint: string;
}

export type SecurityRefusal = { code: 'bad_signature' | 'bad_key'; message: string };

/** Where this side stands in the call: its role, SSRC and ICE ufrag. */
export interface Place {
  role: Role;
  ssrc: number;
  ufrag: string;
}

export class CallSecurity {
  private readonly ephemeral = new EphemeralKey();

  constructor(private readonly identity: Identity) {}

  /** The `crypto` member of this side's offer or answer. */
  describe(place: Place): MediaKey {
    return signMediaKey(this.identity, place.role, this.ephemeral.publicKey, place.ssrc, place.ufrag);
  }

  /** The call's keys, once the peer's description (at its SSRC and ufrag) is in. */
  agree(local: Place, remote: MediaKey, remotePlace: { ssrc: number; ufrag: string }): MediaKeys | SecurityRefusal {
    const peerRole: Role = local.role === 'caller' ? 'callee' : 'caller';
    if (!verifyMediaKey(remote, peerRole, remotePlace.ssrc, remotePlace.ufrag)) {
      return { code: 'bad_signature', message: `the ${peerRole}'s media key is not signed by its identity key` };
    }
    const secret = this.ephemeral.agree(remote.key);
    if (!secret) return { code: 'bad_key', message: `the ${peerRole}'s media key is not a usable X25519 key` };
    const mine: SideFacts = { key: this.ephemeral.publicKey, identity: this.identity.publicKey, ssrc: local.ssrc, ufrag: local.ufrag };
    const theirs: SideFacts = { key: remote.key, identity: remote.identity, ...remotePlace };
    const caller = local.role === 'caller';
    const keys = caller ? deriveCallKeys(secret, mine, theirs) : deriveCallKeys(secret, theirs, mine);
    return {
      send: caller ? keys.callerToCallee : keys.calleeToCaller,
      receive: caller ? keys.calleeToCaller : keys.callerToCallee,
      sas: keys.sas,
      peerIdentity: remote.identity,
      peerFingerprint: fingerprintOf(remote.identity),
    };
  }
}

export function isRefusal(x: MediaKeys | SecurityRefusal): x is SecurityRefusal {
  return 'code' in x;
}
