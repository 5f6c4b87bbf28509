/** `kzymy user add|list|show|disable|enable|delete|set`: account administration against the store. */
import { readFile } from 'node:fs/promises';
import { generatePassword, hashPassword } from '../auth/password';
import type { KzymyConfig } from '../config/schema';
import { ensureBackingServices } from '../embedded/backing-services';
import { checkPublicKey } from '../pgp/key-check';
import { PAYLOAD_FORMATS, type PayloadFormat } from '../pgp/protected-payload';
import { openConfiguredStore } from '../open-store';
import type { Store } from '../store/store';
import { CliError } from './args';

type Print = (line: string) => void;

export async function withStore<T>(
  config: Readonly<KzymyConfig>,
  task: (store: Store) => Promise<T>,
): Promise<T> {
  const services = await ensureBackingServices(config, { redis: false });
  try {
    const store = await openConfiguredStore(config, { mongoUrl: services.mongoUrl });
    try {
      return await task(store);
    } finally {
      await store.close();
    }
  } finally {
    await services.stop();
  }
}

export async function userAdd(
  config: Readonly<KzymyConfig>,
  keyFile: string,
  json: boolean,
  print: Print,
): Promise<void> {
  let input: Buffer;
  try {
    input = await readFile(keyFile);
  } catch (error) {
    throw new CliError(
      `cannot read the key file ${keyFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      66,
    );
  }
  // Armored keys are text; anything else is handed over as binary OpenPGP packets.
  const text = input.toString('latin1');
  const checked = await checkPublicKey(
    text.includes('-----BEGIN PGP') ? text : new Uint8Array(input),
  );
  if (!checked.ok) throw new CliError(`key refused (${checked.problem}): ${checked.message}`, 65);

  const password = generatePassword();
  const passwordHash = await hashPassword(password);
  const user = await withStore(config, (store) =>
    store.users.create({
      fingerprint: checked.key.fingerprint,
      publicKey: checked.key.armored,
      passwordHash,
      state: 'active',
    }),
  );
  const domain = `${user.username}.${config.domain}`;
  if (json) {
    print(JSON.stringify({ username: user.username, domain, password }));
    return;
  }
  print(`created ${user.username}: mail for anything@${domain}`);
  print(`password: ${password}`);
  for (const warning of checked.key.warnings) print(`warning: ${warning}`);
}

export async function userList(
  config: Readonly<KzymyConfig>,
  json: boolean,
  print: Print,
): Promise<void> {
  const rows = await withStore(config, async (store) => {
    const users = await store.users.list();
    return Promise.all(
      users.map(async (user) => ({
        username: user.username,
        state: user.state,
        fingerprint: user.fingerprint,
        createdAt: user.createdAt.toISOString(),
        messages: await store.messages.count(user.id),
        usedBytes: await store.messages.usedBytes(user.id),
      })),
    );
  });
  if (json) {
    print(JSON.stringify(rows));
    return;
  }
  for (const row of rows) {
    print(
      `${row.username}\t${row.state}\t${row.messages} messages\t${row.usedBytes} bytes\t${row.fingerprint}`,
    );
  }
}

export async function userDelete(
  config: Readonly<KzymyConfig>,
  username: string,
  print: Print,
): Promise<void> {
  const deleted = await withStore(config, async (store) => {
    const user = await store.users.byName(username);
    return user ? store.deleteUser(user.id) : false;
  });
  if (!deleted) throw new CliError(`no such user: ${username}`, 67);
  print(`deleted ${username}: its messages, addresses and key are gone`);
}

/**
 * `user disable`: the account stops receiving (RCPT refuses) and logging in (IMAP, POP3, web
 * answer that the operator disabled it); what is stored stays, under the usual retention.
 * `user enable` undoes it. Both say so when there is nothing to do.
 */
export async function userSetEnabled(
  config: Readonly<KzymyConfig>,
  username: string,
  enabled: boolean,
  print: Print,
): Promise<void> {
  const outcome = await withStore(config, async (store) => {
    const user = await store.users.byName(username);
    if (!user) return 'missing' as const;
    const wanted = enabled ? 'active' : 'disabled';
    if (user.state === wanted) return 'unchanged' as const;
    const changed = enabled
      ? await store.users.enable(user.id)
      : await store.users.disable(user.id);
    return changed ? ('changed' as const) : user.state;
  });
  if (outcome === 'missing') throw new CliError(`no such user: ${username}`, 67);
  if (outcome === 'unchanged') {
    print(`${username} is already ${enabled ? 'enabled' : 'disabled'}`);
    return;
  }
  if (outcome !== 'changed') {
    throw new CliError(`${username} is ${outcome}: only an active account can be disabled`, 1);
  }
  print(
    enabled
      ? `enabled ${username}: it receives mail and logs in again`
      : `disabled ${username}: mail to it is refused and its logins too; its stored mail stays (kzymy user enable ${username} undoes this)`,
  );
}

/** What `kzymy user set` can change; an absent field stays as it is. */
export interface UserChanges {
  /** Sending as the nym (docs/sending.md). */
  send?: boolean;
  /** Keep the user's signature on what she sends. */
  signAsNym?: boolean;
  /** What `gpg --decrypt` gives her (docs/message-format.md). */
  payload?: PayloadFormat;
}

/** "on" or "off", as the options take them. */
export function onOff(option: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'on') return true;
  if (value === 'off') return false;
  throw new CliError(`${option} takes on or off, not "${value}"`, 64);
}

/** "protected" or "exact", as --payload takes them. */
export function payloadFormatOf(value: string | undefined): PayloadFormat | undefined {
  if (value === undefined) return undefined;
  const format = PAYLOAD_FORMATS.find((known) => known === value);
  if (!format) throw new CliError(`--payload must be ${PAYLOAD_FORMATS.join(' or ')}`, 64);
  return format;
}

const PAYLOAD_DESCRIPTIONS: Record<PayloadFormat, string> = {
  protected: 'header protection, Authentication-Results and size padding inside the encryption',
  exact: 'delivery headers and Authentication-Results, then the original byte for byte; not padded',
};

export async function userSet(
  config: Readonly<KzymyConfig>,
  username: string,
  changes: UserChanges,
  print: Print,
): Promise<void> {
  const sendingAsked = changes.send !== undefined || changes.signAsNym !== undefined;
  if (!sendingAsked && changes.payload === undefined) {
    throw new CliError(
      'user set needs --send on|off, --sign-as-nym on|off and/or --payload protected|exact',
      64,
    );
  }
  const user = await withStore(config, async (store) => {
    const found = await store.users.byName(username);
    if (!found) return null;
    if (sendingAsked) {
      await store.users.setSending(found.id, {
        ...(changes.send === undefined ? {} : { enabled: changes.send }),
        ...(changes.signAsNym === undefined ? {} : { signAsNym: changes.signAsNym }),
      });
    }
    if (changes.payload !== undefined)
      await store.users.setPayloadFormat(found.id, changes.payload);
    return store.users.byId(found.id);
  });
  if (!user) throw new CliError(`no such user: ${username}`, 67);
  if (changes.payload !== undefined) {
    print(
      `${username}: payload ${user.payloadFormat} (${PAYLOAD_DESCRIPTIONS[user.payloadFormat]})`,
    );
  }
  if (!sendingAsked) return;
  const { sending } = user;
  const state = (on: boolean): string => (on ? 'on' : 'off');
  print(`${username}: sending ${state(sending.enabled)}, sign-as-nym ${state(sending.signAsNym)}`);
  if (sending.enabled && !config.send.enabled) {
    print('note: this server does not send mail (send.enabled is false in the configuration)');
  }
}
