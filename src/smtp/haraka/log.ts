/**
 * Haraka's own log lines, made safe. Haraka logs client IP addresses at NOTICE ("connect",
 * "disconnect"), envelope addresses at NOTICE ("sender", "recipient"), header text at NOTICE
 * (haraka-email-message "Header did not look right: ..."), the Message-ID at NOTICE ("message"),
 * every SMTP line at PROTOCOL and the message itself at DATA; even at WARN a timed-out
 * connection is logged with its IP (connection.js fail()), and ERROR/CRIT can quote a parse
 * error's input. No level is safe, so kzymy takes over the `log` hook: Haraka's line is parsed
 * (log.ini format=json) and only its level, origin and connection id are kept, plus the message
 * when it is one of a few fixed texts known to carry nothing from a client. The kzymy plugin then
 * answers OK, which stops Haraka from printing the line itself (logger.js log_respond).
 */
import type { LogFields, LogLevel } from '../../log/logger';

export interface SafeHarakaLine {
  level: LogLevel;
  fields: LogFields;
}

/** Whole messages that carry no client data (the server's own addresses and files at most). */
const SAFE_MESSAGES: readonly RegExp[] = [
  /^Starting up Haraka version [0-9.]+$/,
  /^Listening on [[\]0-9a-f.:]+$/i,
  /^(SIGINT|SIGTERM) received$/,
  /^Shutting down\.?$/,
  /^Shutting down listeners$/,
  /^Listener [[\]0-9a-f.:]+ stopped$/i,
  /^loglevel: [A-Z]+$/,
  /^log format: [A-Z]+$/,
  /^loading [a-z0-9_./-]+$/i,
  /^Plugin [a-z0-9_./-]+ timed out on hook [a-z_]+ - make sure it calls the callback$/i,
  /^Failed to setup listeners: .*$/,
  /^no valid TLS config$/,
  /^tls (key|cert) \S+ could not be loaded\.$/,
];

const LEVELS: Record<string, LogLevel> = {
  DATA: 'debug',
  PROTOCOL: 'debug',
  DEBUG: 'debug',
  INFO: 'info',
  NOTICE: 'info',
  WARN: 'warn',
  ERROR: 'error',
  CRIT: 'error',
  ALERT: 'error',
  EMERG: 'error',
};

export function sanitizeHarakaLine(level: string, data: string): SafeHarakaLine {
  const harakaLevel = /^[A-Z]{3,8}$/.test(level) ? level : 'UNKNOWN';
  const fields: LogFields = { harakaLevel };
  const record = parseLine(data);
  const origin = record?.origin;
  if (typeof origin === 'string' && /^[a-z0-9_./-]{1,64}$/i.test(origin)) fields.origin = origin;
  // Haraka's connection/transaction id: random, and what ties a line to kzymy's own smtp.* lines.
  const uuid = record?.uuid;
  if (typeof uuid === 'string' && /^[0-9A-F-]{36}(\.\d+)?$/i.test(uuid)) fields.conn = uuid;
  const message = record?.message;
  if (typeof message === 'string' && SAFE_MESSAGES.some((pattern) => pattern.test(message)))
    fields.message = message;
  else fields.redacted = true;
  return { level: LEVELS[harakaLevel] ?? 'warn', fields };
}

/**
 * log.ini format=json gives `{"level","uuid","origin","message",...}`; lines logged before
 * log.ini was read use the default `[LEVEL] [uuid] [origin] message`.
 */
function parseLine(data: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(data);
    if (typeof parsed === 'object' && parsed !== null) return parsed as Record<string, unknown>;
  } catch {
    const match = /^\[([A-Z]+)\] \[([^\]]*)\] \[([^\]]*)\] (.*)$/s.exec(data);
    if (match) return { uuid: match[2], origin: match[3], message: match[4] };
  }
  return undefined;
}
