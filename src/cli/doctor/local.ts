/** Checks that need nothing but the configuration: the file itself and where listeners bind. */
import type { KzymyConfig } from '../../config/schema';
import { LOOPBACK, type CheckResult } from './common';

export function checkConfig(config: Readonly<KzymyConfig>, file: string | undefined): CheckResult {
  const where = file ?? '(defaults, no file)';
  if (config.domain === 'kzymy.test') {
    return {
      check: 'config',
      verdict: 'warn',
      message: `${where}: valid, but the domain is the example kzymy.test`,
      fix: 'set domain (or KZYMY_DOMAIN) to the mail domain you publish the MX for',
    };
  }
  return { check: 'config', verdict: 'ok', message: `${where}: valid, domain ${config.domain}` };
}

export function checkListeners(config: Readonly<KzymyConfig>): CheckResult {
  const exposed: string[] = [];
  const user = [
    ['IMAP', config.imap],
    ['POP3', config.pop3],
    ['web', config.web],
    ['submission', config.send],
  ] as const;
  for (const [name, listener] of user) {
    if (listener.enabled && !LOOPBACK.test(listener.host))
      exposed.push(`${name} on ${listener.host}`);
  }
  if (config.admin.enabled && !LOOPBACK.test(config.admin.host)) {
    exposed.push(`admin (/metrics) on ${config.admin.host}`);
  }
  const notes: string[] = [];
  if (config.smtp.enabled && LOOPBACK.test(config.smtp.host)) {
    notes.push(`SMTP listens on loopback only (${config.smtp.host}:${config.smtp.port})`);
  }
  if (exposed.length > 0) {
    return {
      check: 'listeners',
      verdict: 'warn',
      message: `not on loopback: ${exposed.join(', ')}${notes.length ? `; ${notes.join('; ')}` : ''}`,
      fix: 'user listeners belong on loopback, published as onion services (docs/operations/tor.md); a clearnet listener is opt-in; the admin listener only on a network the scraper alone reaches',
    };
  }
  if (notes.length > 0) {
    return {
      check: 'listeners',
      verdict: 'warn',
      message: `user listeners on loopback; ${notes.join('; ')}`,
      fix: 'the public MX listens on 0.0.0.0:25 (smtp.host, smtp.port), or a proxy forwards port 25 to it',
    };
  }
  return {
    check: 'listeners',
    verdict: 'ok',
    message: `user listeners on loopback; SMTP on ${config.smtp.host}:${config.smtp.port}`,
  };
}

// ---- MongoDB ----------------------------------------------------------------------------------
