/** A room's media on a member's side, and what the control layer needs to drive it. */
export { RoomMedia, type RoomCodec, type RoomMediaOptions, type RoomMediaEvents, type MemberView, type RoomStats, type RoomTopology } from './room-media';
export { MeshPaths, parseMeshSignal, type MeshPathsOptions, type MeshPairState, type MeshSignal } from './mesh-paths';
export type { ReceiveStats } from '../receive-path';
export type { TalkingOptions } from './sender-stream';
export { Mixer, type MixerOptions } from './mixer';
export { ForwarderLink, type ForwarderLinkOptions } from './forwarder-link';
export {
  newSenderKey,
  openSenderKey,
  sealSenderKey,
  signMemberKey,
  verifyMemberKey,
  type MemberKey,
  type SealContext,
  type SenderKey,
} from '../crypto/sender-keys';
