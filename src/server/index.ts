export { startServer, type ServerOptions, type RunningServer } from './signaling-server';
export { createLogger, type Logger, type LogLevel, type LogFields } from './logger';
export { MemoryRegistry, type Registry, type Session, type Page } from './registry';
export { DEFAULT_LIMITS, type ServerLimits } from './limits';
export { systemClock, type Clock, type ClockTimer } from './clock';
export type { Rate } from './token-bucket';
