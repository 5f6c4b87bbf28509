/**
 * Checking a mailbox login, the same for IMAP and POP3: the password gate (src/auth/password-gate:
 * no lock-out, wrong answers held, scrypt one at a time per account) and one answer for every
 * kind of failure — unknown name, wrong password, inactive account — so a login probe learns
 * nothing.
 */
import { parseRecipient } from '../address/recipient';
import { isUsernameShaped } from '../address/username';
import { sharedPasswordGate, type PasswordGate } from '../auth/password-gate';
import type { DaemonDeps } from '../daemon/deps';
import type { User } from '../store/types';

/** The text every failed login gets, on both protocols. */
export const LOGIN_FAILED_TEXT = 'Authentication failed';

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

/** The daemon's one password gate, shared by IMAP, POP3 and the web (src/auth/password-gate). */
export function passwordGate(deps: Pick<DaemonDeps, 'config'>): PasswordGate {
  return sharedPasswordGate(deps.config, { failureDelayMs: deps.config.auth.failureDelayMs });
}

export async function checkLogin(
  deps: DaemonDeps,
  protocol: MailProtocol,
  username: string,
  password: string,
): Promise<User | null> {
  const name = loginName(username, deps.config.domain);
  const user = name ? await deps.store.users.byName(name) : null;
  // Unknown names are answered like wrong passwords, at the same moment, without hashing.
  const ok = await passwordGate(deps).check(user?.id ?? '', password, user?.passwordHash ?? null);
  if (ok && user?.state === 'active') return user;
  deps.metrics.loginFailed(protocol);
  deps.logger.info(`${protocol}.auth_failed`, {});
  return null;
}
