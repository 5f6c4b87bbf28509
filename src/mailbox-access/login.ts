/**
 * Checking a mailbox login, the same for IMAP and POP3: per-account limiting (src/auth/limiter),
 * the slow hash (src/auth/password), and one answer for every kind of failure — unknown name,
 * wrong password, inactive account, locked account — so that a login probe learns nothing.
 */
import { parseRecipient } from '../addresses/recipient';
import { isUsernameShaped } from '../addresses/username';
import type { AuthLimiter } from '../auth/limiter';
import { hashPassword, verifyPassword } from '../auth/password';
import type { DaemonDeps } from '../daemon-deps';
import type { User } from '../store/types';

export type MailProtocol = 'imap' | 'pop3';

/**
 * Accepts the username as issued ("k3x..."), as "<username>@<domain>", or as any address of the
 * user ("anything@<username>.<domain>"), so that clients that insist on an address work.
 */
export function loginName(input: string, domain: string): string | null {
  const name = input.trim().toLowerCase();
  if (isUsernameShaped(name)) return name;
  const suffix = '@' + domain.toLowerCase();
  if (name.endsWith(suffix)) {
    const bare = name.slice(0, -suffix.length);
    return isUsernameShaped(bare) ? bare : null;
  }
  return parseRecipient(name, domain)?.username ?? null;
}

let decoyHash: Promise<string> | undefined;

/** A hash to check unknown names against, so they cost the same time as known ones. */
function decoy(): Promise<string> {
  decoyHash ??= hashPassword('kzymy decoy password, never issued');
  return decoyHash;
}

export async function checkLogin(
  deps: DaemonDeps,
  limiter: AuthLimiter,
  protocol: MailProtocol,
  username: string,
  password: string,
): Promise<User | null> {
  const name = loginName(username, deps.config.domain);
  // Names that cannot exist are limited too, under what the client typed.
  const account = name ?? username.trim().toLowerCase().slice(0, 256);
  if (!(await limiter.gate(account))) {
    deps.logger.info(`${protocol}.auth_failed`, { reason: 'locked' });
    return null;
  }
  const user = name ? await deps.store.users.byName(name) : null;
  const usable = user !== null && user.state === 'active';
  const ok = await verifyPassword(password, usable ? user.passwordHash : await decoy());
  if (ok && usable) {
    await limiter.recordSuccess(account);
    return user;
  }
  const outcome = await limiter.recordFailure(account);
  deps.metrics.loginFailed(protocol);
  if (outcome.lockedNow) {
    deps.logger.warn('auth.locked', { protocol, lockSeconds: deps.config.auth.lockSeconds });
  }
  deps.logger.info(`${protocol}.auth_failed`, { failures: outcome.failures });
  await limiter.hold(outcome);
  return null;
}
