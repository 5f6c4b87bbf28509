/**
 * What the runner hands the Haraka child: the validated kzymy configuration (with the service
 * URLs resolved, so an embedded FerretDB/Redis started by the parent is found) and the SMTP
 * timings. It travels in one environment variable, because Haraka loads plugins itself and a
 * plugin has no other way to receive arguments; the child validates it again.
 */
import { validateConfig } from '../../config/load';
import type { KzymyConfig } from '../../config/schema';

export const SETTINGS_ENV = 'KZYMY_HARAKA_SETTINGS';

export interface HookTimeouts {
  /** RCPT: one user lookup. */
  rcptMs: number;
  /**
   * End of DATA: encrypt and store once per recipient. Below Haraka's 300 s inactivity timeout
   * and well below the 10 minutes a client waits for the reply (RFC 5321 §4.5.3.2.6).
   */
  dataPostMs: number;
  /** Everything else (no I/O). */
  otherMs: number;
}

export const DEFAULT_TIMEOUTS: HookTimeouts = {
  rcptMs: 30_000,
  dataPostMs: 240_000,
  otherMs: 10_000,
};

/**
 * Lines longer than this are refused (550 5.6.0) instead of being split by Haraka. RFC 5321
 * §4.5.3.1.6 allows 1000 octets; real mail has longer ones, and a bound keeps Haraka's line
 * scanning (quadratic in the length of a line) cheap.
 */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

export interface SmtpSettings {
  /** redis.url is always set here, and so is mongodb.url on the mongodb engine. */
  config: Readonly<KzymyConfig>;
  timeouts: HookTimeouts;
  /** How long a store operation may wait for the database before SMTP answers 4xx. */
  storeTimeoutMs: number;
  maxLineBytes: number;
}

export function encodeSettings(settings: SmtpSettings): string {
  return JSON.stringify(settings);
}

export class SettingsError extends Error {
  override name = 'SettingsError';
}

export function decodeSettings(text: string | undefined): SmtpSettings {
  if (!text) throw new SettingsError(`${SETTINGS_ENV} is not set: start Haraka through kzymy`);
  let raw: Partial<SmtpSettings>;
  try {
    raw = JSON.parse(text) as Partial<SmtpSettings>;
  } catch {
    throw new SettingsError(`${SETTINGS_ENV} is not valid JSON`);
  }
  const result = validateConfig(raw.config);
  if (!result.ok) throw new SettingsError(`invalid configuration: ${result.problems.join('; ')}`);
  const config = result.config;
  if ((config.store.engine === 'mongodb' && !config.mongodb.url) || !config.redis.url)
    throw new SettingsError('mongodb.url and redis.url must be resolved before starting Haraka');
  const timeouts = raw.timeouts ?? DEFAULT_TIMEOUTS;
  for (const [key, value] of Object.entries(timeouts))
    if (!isPositive(value)) throw new SettingsError(`timeouts.${key} must be a positive number`);
  if (!isPositive(raw.storeTimeoutMs)) throw new SettingsError('storeTimeoutMs must be positive');
  if (!isPositive(raw.maxLineBytes)) throw new SettingsError('maxLineBytes must be positive');
  return {
    config,
    timeouts: { ...DEFAULT_TIMEOUTS, ...timeouts },
    storeTimeoutMs: raw.storeTimeoutMs,
    maxLineBytes: raw.maxLineBytes,
  };
}

function isPositive(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}
