/**
 * One member's keys in one room: its ephemeral X25519 key (signed by its identity, for the
 * others to seal to), the sender key it seals its own packets with (a new one, a new epoch,
 * whenever someone leaves, so a member who left cannot read what follows), and the other
 * members' X25519 keys it seals that sender key to and opens theirs with.
 */
import type { MemberKey } from '../../protocol';
import type { Identity } from '../../media/crypto/identity';
import { EphemeralKey } from '../../media/crypto/key-schedule';
import { newSenderKey, openSenderKey, sealSenderKey, signMemberKey, verifyMemberKey, type SenderKey } from '../../media/crypto/sender-keys';

export class RoomKeys {
  private readonly mine = new EphemeralKey();
  readonly memberKey: MemberKey;
  private own = newSenderKey();
  private epoch = 0;
  /** The other members' X25519 keys, once their signatures held. */
  private readonly peers = new Map<string, string>();
  /** The newest epoch taken from each member: an older sealed key is not taken over it. */
  private readonly taken = new Map<string, number>();

  constructor(
    identity: Identity,
    private readonly me: string,
  ) {
    this.memberKey = signMemberKey(identity, me, this.mine.publicKey);
  }

  get sendKey(): SenderKey {
    return this.own;
  }

  get sendEpoch(): number {
    return this.epoch;
  }

  /** Takes a member's key if its identity signed it for that name; false when it did not. */
  admit(name: string, key: MemberKey): boolean {
    if (!verifyMemberKey(key, name)) return false;
    this.peers.set(name, key.key);
    this.taken.delete(name);
    return true;
  }

  drop(name: string): void {
    this.peers.delete(name);
    this.taken.delete(name);
  }

  has(name: string): boolean {
    return this.peers.has(name);
  }

  /** A new sender key for what this member sends from now on. */
  rotate(): SenderKey {
    this.own = newSenderKey();
    this.epoch++;
    return this.own;
  }

  /** This member's sender key sealed to `to`; null when `to` has no admitted key. */
  sealFor(room: string, to: string): string | null {
    const theirs = this.peers.get(to);
    return theirs ? sealSenderKey(this.mine, theirs, { room, from: this.me, to, epoch: this.epoch }, this.own) : null;
  }

  /** The sender key `from` sealed to this member; null when it does not open, or is older than one taken. */
  open(room: string, from: string, epoch: number, sealed: string): SenderKey | null {
    const theirs = this.peers.get(from);
    if (!theirs || epoch < (this.taken.get(from) ?? -1)) return null;
    const sk = openSenderKey(this.mine, theirs, { room, from, to: this.me, epoch }, sealed);
    if (sk) this.taken.set(from, epoch);
    return sk;
  }
}
