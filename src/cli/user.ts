/** `kzymy user add|list|delete`: account administration against the configured store. */
import { readFile } from 'node:fs/promises';
import { generatePassword, hashPassword } from '../auth/password';
import type { KzymyConfig } from '../config/schema';
import { ensureBackingServices } from '../embedded/backing-services';
import { checkPublicKey } from '../pgp/key-check';
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
