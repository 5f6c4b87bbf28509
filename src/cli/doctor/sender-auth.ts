/**
 * With --online: whether the resolver the sender authentication asks (src/smtp/sender-auth.ts:
 * SPF, DKIM and DMARC at arrival) answers. It never blocks a delivery, but every query it makes
 * waits out its timeout when no resolver answers: each message would take up to
 * `smtp.senderAuth.timeoutMs` before its verdicts read temperror.
 */
import { Resolver } from 'node:dns/promises';
import type { KzymyConfig } from '../../config/schema';
import type { CheckResult, DoctorDeps } from './common';

/** Answers that show a resolver at work: a record, or a definite "there is none". */
const ANSWERED = new Set(['ENOTFOUND', 'ENODATA']);

export async function checkSenderAuth(
  config: Readonly<KzymyConfig>,
  deps: DoctorDeps,
): Promise<CheckResult> {
  const settings = config.smtp.senderAuth;
  if (!settings.enabled) {
    return { check: 'sender-auth', verdict: 'ok', message: 'off (smtp.senderAuth.enabled: false)' };
  }
  // The resolvers kzymy will use: the configured ones, else this machine's (as doctor's own).
  let resolver: Pick<Resolver, 'resolveTxt'> = deps.resolver;
  if (settings.dnsServers.length > 0) {
    const own = new Resolver({ timeout: settings.queryTimeoutMs, tries: 1 });
    own.setServers([...settings.dnsServers]);
    resolver = own;
  }
  const name = `_dmarc.${config.domain}`;
  const began = deps.clock().getTime();
  let code = 'answer';
  try {
    await resolver.resolveTxt(name);
  } catch (error) {
    code = String((error as { code?: unknown }).code ?? 'error');
  }
  const ms = deps.clock().getTime() - began;
  const where =
    settings.dnsServers.length > 0 ? settings.dnsServers.join(', ') : 'the system resolver';
  if (code === 'answer' || ANSWERED.has(code)) {
    return {
      check: 'sender-auth',
      verdict: 'ok',
      message: `${where} answered TXT ${name} in ${ms} ms`,
    };
  }
  return {
    check: 'sender-auth',
    verdict: 'warn',
    message:
      `${where} did not answer TXT ${name} (${code}): SPF, DKIM and DMARC at arrival would wait ` +
      `up to ${settings.timeoutMs / 1000} s on every delivery before recording temperror`,
    fix: 'point smtp.senderAuth.dnsServers at a working resolver, or set smtp.senderAuth.enabled: false',
  };
}
