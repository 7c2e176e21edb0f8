/** parley's library API: what the CLI and the tests are built on. */
export * from './protocol';
export { startServer, createLogger, MemoryRegistry } from './server';
export type { ServerOptions, RunningServer, Logger, LogLevel, Registry, Session, RelayLimits, RelayCounters } from './server';
export { SignalingClient, SignalingError, ConnectError, ServerTrustError } from './client/signaling-client';
export type { ConnectOptions, SignalingEvents, TlsOptions } from './client/signaling-client';
export { ServerLink, type ReconnectOptions, type ServerLinkEvents } from './client/server-link';
export { Phone, ActiveCall, IncomingCall, OutgoingCall, CallFailedError } from './client/phone';
export type { IdentityWarning, RoomSession, RoomEnd, RoomTerms } from './client/phone';
export type { RoomEvents, RoomDevices } from './client/room/room-session';
export { Identity, fingerprintOf } from './media/crypto/identity';
export { MemoryKnownPeers, KnownPeersFile, knownPeersIn, type KnownPeers, type PeerCheck } from './client/known-peers';
export { loadOrCreateIdentity } from './client/identity-file';
export type { PhoneOptions, PhoneEvents, PhoneState, PhoneStatus, CallEnd, CallCodec, CallReasonCode, FailureCause, CallStats, Candidate, PathInfo, PathKind } from './client/phone';
export { createSource, createSink, getCodec, codecReport, audioDeviceReport, probeAudioDevices, listAudioDevices, chooseDevice, AudioError } from './audio';
export type { DeviceProbe, AudioErrorCode, AudioDevice, DeviceList, DeviceChoice } from './audio';
export type { DeviceChange } from './client/device-failover';
export { MediaError, type MediaErrorCode } from './media/errors';
