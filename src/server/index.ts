export { startServer, type ServerOptions, type RunningServer } from './signaling-server';
export { createLogger, type Logger, type LogLevel, type LogFields } from './logger';
export { MemoryRegistry, type Registry, type Session, type Page } from './registry';
export { DEFAULT_LIMITS, type ServerLimits } from './limits';
export { systemClock, type Clock, type ClockTimer } from './clock';
export type { Rate } from './token-bucket';
export { DEFAULT_RELAY_LIMITS, type RelayLimits } from './turn/relay-policy';
export type { RelayCounters } from './turn/counters';
export { mint as mintTurnCredentials, verify as verifyTurnCredentials, TURN_REALM, DEFAULT_TURN_TTL_S, type TurnIdentity, type ParsedTurnUser } from './turn/credentials';
