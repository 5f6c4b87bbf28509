/**
 * Checking a login with the kzymy password, the same for IMAP, POP3 and submission: the password
 * gate (src/auth/password-gate: no lock-out, wrong answers held, scrypt one at a time per
 * account) and one answer for every kind of failure — unknown name, wrong password, inactive
 * account — so a login probe learns nothing.
 */
import { parseRecipient } from '../addresses/recipient';
import { isUsernameShaped } from '../addresses/username';
import { sharedPasswordGate, type PasswordGate } from '../auth/password-gate';
import type { DaemonDeps } from '../daemon-deps';
import { errorKind } from '../log/logger';
import type { User } from '../store/types';

/**
 * ok: logged in; failed: the one answer for every failure; disabled: the right password of an
 * account the operator disabled (`kzymy user disable`) — said plainly, since only its owner
 * can get this far. The words each protocol sends are in src/imap/replies.ts,
 * src/pop3/replies.ts and src/submission/server.ts.
 */
export type LoginOutcome = { kind: 'ok'; user: User } | { kind: 'failed' } | { kind: 'disabled' };

export type MailProtocol = 'imap' | 'pop3';
/** Who checks logins here: the mailbox protocols, and the submission listener (src/submission). */
export type LoginUser = MailProtocol | 'submission';

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

/**
 * The daemon's one password gate, shared by IMAP, POP3, submission and the web
 * (src/auth/password-gate).
 */
export function passwordGate(deps: Pick<DaemonDeps, 'config'>): PasswordGate {
  return sharedPasswordGate(deps.config, { failureDelayMs: deps.config.auth.failureDelayMs });
}

export async function checkLogin(
  deps: DaemonDeps,
  protocol: LoginUser,
  username: string,
  password: string,
): Promise<LoginOutcome> {
  const name = loginName(username, deps.config.domain);
  const user = name ? await deps.store.users.byName(name) : null;
  // Unknown names are answered like wrong passwords, at the same moment, without hashing.
  const ok = await passwordGate(deps).check(user?.id ?? '', password, user?.passwordHash ?? null);
  if (ok && user?.state === 'active') {
    if (protocol !== 'submission') await noteFetchDay(deps, user);
    return { kind: 'ok', user };
  }
  deps.metrics.loginFailed(protocol);
  if (ok && user?.state === 'disabled') {
    deps.logger.info(`${protocol}.auth_failed`, { reason: 'disabled' });
    return { kind: 'disabled' };
  }
  deps.logger.info(`${protocol}.auth_failed`, { reason: 'credentials' });
  return { kind: 'failed' };
}

/**
 * The UTC day of this login, for `kzymy user show` — written once a day at most, and a failure
 * to write it costs the login nothing.
 */
async function noteFetchDay(deps: DaemonDeps, user: User): Promise<void> {
  const today = deps.clock().toISOString().slice(0, 10);
  if (user.lastFetchDay === today) return;
  await deps.store.users.noteFetchDay(user.id, today).catch((error: unknown) => {
    deps.logger.warn('store.error', { where: 'fetch-day', kind: errorKind(error) });
  });
}
