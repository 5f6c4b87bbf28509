/**
 * The kzymy Haraka plugin: wiring only. Haraka loads it through the shim the runner writes to
 * <dataDir>/haraka/plugins/kzymy.js, copies these exports onto its Plugin object and calls
 * register(); every hook goes through the adapter in src/smtp/haraka/hook-adapter.ts.
 */
import { errorKind } from '../src/log/logger';
import { SmtpConnectionLimit } from '../src/smtp/connection-limit';
import { installDataPatch } from '../src/smtp/haraka/data-patch';
import type { HarakaConnection, HarakaPlugin } from '../src/smtp/haraka/api';
import { wireHook } from '../src/smtp/haraka/hook-adapter';
import { installPipeliningAfterData } from '../src/smtp/haraka/pipelining-patch';
import { createHandlers } from '../src/smtp/hooks';
import { SmtpRuntime } from '../src/smtp/haraka/runtime';
import { decodeSettings, SETTINGS_ENV } from '../src/smtp/haraka/settings';

let runtime: SmtpRuntime | undefined;

export function register(this: HarakaPlugin): void {
  const settings = decodeSettings(process.env[SETTINGS_ENV]);
  const rt = new SmtpRuntime(settings);
  runtime = rt;
  try {
    installDataPatch(this, {
      maxMessageBytes: settings.config.smtp.maxMessageBytes,
      minLineLength: settings.maxLineBytes,
    });
    installPipeliningAfterData(this);
  } catch (error) {
    // Haraka would print the exception unfiltered; our own message names only settings.
    rt.logger.error('startup', {
      where: 'haraka-plugin',
      error: errorKind(error),
      detail: (error as Error).message,
    });
    throw error;
  }

  const handlers = createHandlers(rt);
  const { timeouts } = settings;
  const logger = rt.logger;
  const other = { timeoutMs: timeouts.otherMs, logger };
  wireHook(this, handlers.log, { hook: 'log', ...other, quiet: true });
  wireHook(this, handlers.lookupRdns, { hook: 'lookup_rdns', ...other, quiet: true });
  // Connection limits, counted in this process only (src/smtp/connection-limit.ts).
  const connections = new SmtpConnectionLimit(settings.config.limits.smtp, rt);
  wireHook<HarakaConnection, unknown>(this, ({ object }) => connections.admit(object), {
    hook: 'connect',
    ...other,
    quiet: true,
  });
  wireHook<HarakaConnection, unknown>(this, ({ object }) => void connections.touch(object), {
    hook: 'data',
    ...other,
    quiet: true,
  });
  wireHook(this, handlers.capabilities, { hook: 'capabilities', ...other, quiet: true });
  wireHook(this, handlers.mail, { hook: 'mail', ...other });
  wireHook(this, handlers.rcpt, { hook: 'rcpt', timeoutMs: timeouts.rcptMs, logger });
  wireHook(this, handlers.dataPost, { hook: 'data_post', timeoutMs: timeouts.dataPostMs, logger });
  wireHook(this, handlers.queue, { hook: 'queue', ...other });
  wireHook(this, handlers.queueOutbound, { hook: 'queue_outbound', ...other });
}

/** Haraka calls this on graceful shutdown (plugins.js shutdown_plugins). */
export function shutdown(): void {
  const rt = runtime;
  runtime = undefined;
  void rt?.close();
}
