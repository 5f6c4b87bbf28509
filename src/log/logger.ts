/**
 * Structured JSON-lines logging with a closed set of event names.
 *
 * Privacy rule (docs/architecture.md, invariant "Nothing that locates a user"): a log line never carries a client IP address, message content, a key
 * or a password. The event set is closed so that a new kind of line is a reviewed code change,
 * and `fields` only takes primitives so that whole objects (a Haraka connection, a socket, an
 * error with its message text) cannot slip in by accident.
 */
export type LogEvent =
  | 'startup'
  | 'shutdown'
  | 'service.ready'
  | 'service.exit'
  | 'config.invalid'
  | 'store.connected'
  | 'store.error'
  | 'redis.error'
  | 'service.restart'
  | 'service.gave_up'
  | 'connection.limited'
  | 'smtp.accepted'
  | 'smtp.refused'
  | 'smtp.tempfail'
  | 'smtp.error'
  | 'smtp.delivered'
  | 'smtp.rollback_failed'
  | 'smtp.haraka'
  | 'imap.login'
  | 'imap.auth_failed'
  | 'imap.error'
  | 'imap.committed'
  | 'imap.expunged'
  | 'imap.session_closed'
  | 'pop3.login'
  | 'pop3.auth_failed'
  | 'pop3.error'
  | 'pop3.committed'
  | 'pop3.session_closed'
  | 'submission.login'
  | 'submission.auth_failed'
  | 'submission.refused'
  | 'submission.error'
  | 'sweep.deleted'
  | 'sweep.error'
  | 'web.request'
  | 'web.error'
  | 'web.signup'
  | 'web.activated'
  | 'web.key_refused'
  | 'web.pow_refused'
  | 'web.signup_limited'
  | 'web.form_refused'
  | 'web.login'
  | 'web.login_failed'
  | 'web.logout'
  | 'web.policy_changed'
  | 'web.password_changed'
  | 'web.key_replaced'
  | 'user.created'
  | 'user.deleted'
  | 'forward.delivered'
  | 'forward.deferred'
  | 'forward.refused'
  | 'forward.error'
  | 'forward.cleaned'
  | 'forward.code_sent'
  | 'forward.code_failed'
  | 'forward.activated'
  | 'forward.stopped'
  | 'forward.retry';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | null | undefined>;

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(event: LogEvent, fields?: LogFields): void;
  info(event: LogEvent, fields?: LogFields): void;
  warn(event: LogEvent, fields?: LogFields): void;
  error(event: LogEvent, fields?: LogFields): void;
  child(component: string): Logger;
}

export interface LoggerOptions {
  component: string;
  level?: LogLevel;
  /** Where lines go; defaults to stderr. Tests pass a collector. */
  sink?: (line: string) => void;
  clock?: () => Date;
}

export function createLogger(options: LoggerOptions): Logger {
  const minLevel = LEVEL_ORDER[options.level ?? 'info'];
  const sink = options.sink ?? ((line: string) => process.stderr.write(line + '\n'));
  const clock = options.clock ?? (() => new Date());

  const emit = (level: LogLevel, event: LogEvent, fields?: LogFields): void => {
    if (LEVEL_ORDER[level] < minLevel) return;
    const record: Record<string, unknown> = {
      time: clock().toISOString(),
      level,
      component: options.component,
      event,
    };
    for (const [key, value] of Object.entries(fields ?? {})) {
      if (value !== undefined) record[key] = value;
    }
    sink(JSON.stringify(record));
  };

  return {
    debug: (event, fields) => emit('debug', event, fields),
    info: (event, fields) => emit('info', event, fields),
    warn: (event, fields) => emit('warn', event, fields),
    error: (event, fields) => emit('error', event, fields),
    child: (component) =>
      createLogger({ ...options, component: `${options.component}.${component}` }),
  };
}

/**
 * The part of an error that is safe to log: its class and code, never its message, which for
 * driver and protocol errors can quote addresses, hosts or data.
 */
export function errorKind(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return code === undefined ? error.name : `${error.name}:${String(code)}`;
  }
  return typeof error;
}
