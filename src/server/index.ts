export { startServer, type ServerOptions, type RunningServer } from './signaling-server';
export { createLogger, type Logger, type LogLevel } from './logger';
export { MemoryRegistry, type Registry, type Session } from './registry';
