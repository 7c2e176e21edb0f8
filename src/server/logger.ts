export const LOG_LEVELS = ['silent', 'error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What happened in words, and who, what and why as fields (call, from, to, by, name, reason, remote, …). */
export type LogFields = Record<string, unknown>;

export interface Logger {
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
}

/**
 * Readable lines (`2026-11-22T10:00:00.000Z info  registered name=alice remote=10.0.0.5:50412`)
 * or JSON lines (`{"time":…,"level":"info","msg":"registered","name":"alice",…}`). Readable
 * values are quoted when they hold spaces, quotes, `=` or control characters, so one event is
 * always one line and its fields can be split on spaces, whatever a client chose to send.
 */
export function createLogger(opts: { level?: LogLevel; json?: boolean; write?: (line: string) => void } = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(opts.level ?? 'info');
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(level) > threshold) return;
    const time = new Date().toISOString();
    if (opts.json) {
      write(JSON.stringify({ time, level, msg, ...fields }));
      return;
    }
    let extra = '';
    if (fields) for (const k in fields) if (fields[k] !== undefined) extra += ` ${k}=${readable(fields[k])}`;
    write(`${time} ${level.padEnd(5)} ${msg}${extra}`);
  };
  return {
    error: (m, f) => emit('error', m, f),
    warn: (m, f) => emit('warn', m, f),
    info: (m, f) => emit('info', m, f),
    debug: (m, f) => emit('debug', m, f),
  };
}

/** A field value as one token: bare when it is plain, JSON-quoted otherwise. */
function readable(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  // eslint-disable-next-line no-control-regex
  return s === '' || /[\s"=\u0000-\u001f\u007f]/.test(s) ? JSON.stringify(s) : s;
}

export const silentLogger: Logger = createLogger({ level: 'silent' });
