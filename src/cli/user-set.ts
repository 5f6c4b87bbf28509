/** `kzymy user set NAME --payload protected|exact`: a user's settings, as the operator sets them. */
import type { KzymyConfig } from '../config/schema';
import { PAYLOAD_FORMATS, type PayloadFormat } from '../pgp/protected-payload';
import { CliError } from './args';
import { withStore } from './user';

export interface UserSettings {
  /** docs/message-format.md: what `gpg --decrypt` gives the user. */
  payload?: string;
}

export async function userSet(
  config: Readonly<KzymyConfig>,
  username: string,
  settings: UserSettings,
  print: (line: string) => void,
): Promise<void> {
  if (settings.payload === undefined) throw new CliError('user set needs --payload', 64);
  const format = parseFormat(settings.payload);
  const done = await withStore(config, async (store) => {
    const user = await store.users.byName(username);
    return user ? store.users.setPayloadFormat(user.id, format) : false;
  });
  if (!done) throw new CliError(`no such user: ${username}`, 67);
  print(`${username}: payload ${format} (${DESCRIPTIONS[format]})`);
}

const DESCRIPTIONS: Record<PayloadFormat, string> = {
  protected: 'header protection, Authentication-Results and size padding inside the encryption',
  exact: 'delivery headers and Authentication-Results, then the original byte for byte; not padded',
};

function parseFormat(value: string): PayloadFormat {
  const format = PAYLOAD_FORMATS.find((known) => known === value);
  if (!format) throw new CliError(`--payload must be ${PAYLOAD_FORMATS.join(' or ')}`, 64);
  return format;
}
