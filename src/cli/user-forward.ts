/**
 * `kzymy user set NAME --forward ADDRESS [--forward-host HOST] | --forward-code CODE |
 * --no-forward`, and the forwarding lines of `kzymy user show NAME`: the account page's
 * forwarding, for the operator. Setting a destination mails the code there exactly as the page
 * does; the user (or the operator, given the code) types it back.
 */
import { Resolver } from 'node:dns/promises';
import type { KzymyConfig } from '../config/schema';
import { formatReply } from '../forward/outcome';
import { ForwardService, type ForwardStatus } from '../forward/service';
import { createLogger } from '../log/logger';
import type { Store } from '../store/store';
import type { User } from '../store/types';
import { CliError } from './args';
import { withStore } from './user';

type Print = (line: string) => void;

export type ForwardChange =
  | { kind: 'set'; address: string; host: string }
  | { kind: 'code'; code: string }
  | { kind: 'off' };

/** Exactly one forwarding change from the flags of `user set`, or null. */
export function forwardChangeOf(values: {
  forward?: string;
  'forward-host'?: string;
  'forward-code'?: string;
  'no-forward'?: boolean;
}): ForwardChange | null {
  const given = [values.forward, values['forward-code'], values['no-forward'] || undefined];
  if (given.filter((value) => value !== undefined).length !== 1) return null;
  if (values.forward !== undefined)
    return { kind: 'set', address: values.forward, host: values['forward-host'] ?? '' };
  if (values['forward-code'] !== undefined) return { kind: 'code', code: values['forward-code'] };
  return { kind: 'off' };
}

function service(config: Readonly<KzymyConfig>, store: Store): ForwardService {
  return new ForwardService({
    config,
    store,
    // The command prints its own outcome; only errors would be worth a log line here.
    logger: createLogger({ component: 'cli', level: 'error', sink: () => undefined }),
    clock: () => new Date(),
    resolver: new Resolver(),
  });
}

async function userNamed(store: Store, username: string): Promise<User> {
  const user = await store.users.byName(username);
  if (!user || user.state !== 'active') throw new CliError(`no such user: ${username}`, 67);
  return user;
}

export async function userSetForward(
  config: Readonly<KzymyConfig>,
  username: string,
  change: ForwardChange,
  print: Print,
): Promise<void> {
  if (!config.forward.enabled && change.kind !== 'off') {
    throw new CliError('forwarding is off on this server (forward.enabled: false)', 78);
  }
  await withStore(config, async (store) => {
    const user = await userNamed(store, username);
    const forward = service(config, store);
    if (change.kind === 'off') {
      await forward.stop(user);
      print(`${username}: forwarding off; mail waits for pickup`);
      return;
    }
    if (change.kind === 'set') {
      const result = await forward.propose(user, change.address, change.host);
      if (!result.ok) throw new CliError(result.problem, 69);
      print(
        `${username}: a code encrypted to the user's key was mailed to the destination; ` +
          `forwarding starts once it is entered (valid ${result.validMinutes} minutes)`,
      );
      return;
    }
    const confirmed = await forward.confirm(user, change.code);
    if (confirmed !== 'active') {
      const why = {
        wrong: 'that is not the code mailed to the destination',
        expired: 'that code has expired; set the destination again for a new one',
        'not-pending': 'no destination is waiting for a code',
      }[confirmed];
      throw new CliError(`${username}: ${why}; nothing was changed`, 65);
    }
    print(`${username}: forwarding on`);
  });
}

/** The forwarding lines of `kzymy user show`. */
export function forwardStateLines(status: ForwardStatus): string[] {
  const setting = status.setting;
  if (!setting) return ['forward: off'];
  const to = setting.host ? `${setting.address} via ${setting.host}` : setting.address;
  const lines = [
    setting.state === 'pending'
      ? `forward: pending ${to} (code valid until ${setting.codeExpiresAt?.toISOString() ?? '?'})`
      : `forward: active ${to}`,
  ];
  if (setting.failure) {
    lines.push(
      `forward refused: ${formatReply(setting.failure)} at ${setting.failure.at.toISOString()}`,
    );
  }
  if (status.refused > 0) lines.push(`forward kept for pickup: ${status.refused} refused messages`);
  return lines;
}

/** The user's forwarding as the account page shows it. */
export async function forwardStatusOf(
  config: Readonly<KzymyConfig>,
  store: Store,
  user: User,
): Promise<ForwardStatus> {
  return service(config, store).status(user);
}

/** The forwarding part of `kzymy user show --json`. */
export function forwardJson(status: ForwardStatus): Record<string, unknown> | null {
  const setting = status.setting;
  if (!setting) return null;
  return {
    address: setting.address,
    host: setting.host,
    state: setting.state,
    codeExpiresAt: setting.codeExpiresAt?.toISOString() ?? null,
    failure: setting.failure ? { ...setting.failure, at: setting.failure.at.toISOString() } : null,
    refused: status.refused,
  };
}
