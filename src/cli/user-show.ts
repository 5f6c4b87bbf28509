/**
 * `kzymy user show NAME [--json]`: what the operator may know of an account — state, key, what
 * waits, the day of the last fetch, the payload format, sending and forwarding — never where
 * she connects from.
 */
import type { KzymyConfig } from '../config/schema';
import type { PayloadFormat } from '../pgp/protected-payload';
import type { SendingSettings } from '../store/types';
import { CliError } from './args';
import { withStore } from './user';
import { forwardJson, forwardStateLines, forwardStatusOf } from './user-forward';

type Print = (line: string) => void;

/** What `user show` tells: state, what waits, the key, the last fetch day — never where from. */
export interface UserReport {
  username: string;
  state: string;
  createdDay: string;
  fingerprint: string;
  waitingMessages: number;
  waitingBytes: number;
  /** UTC day of the last IMAP or POP3 login, or null if there was none. */
  lastFetchDay: string | null;
  /** What `gpg --decrypt` gives her: protected or exact (docs/message-format.md). */
  payloadFormat: PayloadFormat;
  /** Her sending switches (docs/sending.md). */
  sending: SendingSettings;
  /** Her forwarding destination and its state (docs/clients/forwarding.md), or null. */
  forward: Record<string, unknown> | null;
}

export async function userShow(
  config: Readonly<KzymyConfig>,
  username: string,
  json: boolean,
  print: Print,
): Promise<void> {
  const shown = await withStore(config, async (store) => {
    const user = await store.users.byName(username);
    if (!user) return null;
    const forward = await forwardStatusOf(config, store, user);
    const report: UserReport = {
      username: user.username,
      state: user.state,
      createdDay: user.createdAt.toISOString().slice(0, 10),
      fingerprint: user.fingerprint,
      waitingMessages: await store.messages.count(user.id),
      waitingBytes: await store.messages.sumBytes(user.id),
      lastFetchDay: user.lastFetchDay,
      payloadFormat: user.payloadFormat,
      sending: user.sending,
      forward: forwardJson(forward),
    };
    return { report, forward };
  });
  if (!shown) throw new CliError(`no such user: ${username}`, 67);
  const { report, forward } = shown;
  if (json) {
    print(JSON.stringify(report));
    return;
  }
  print(`user        ${report.username}`);
  print(`state       ${report.state}`);
  print(`created     ${report.createdDay}`);
  print(`key         ${report.fingerprint}`);
  print(`waiting     ${report.waitingMessages} messages, ${report.waitingBytes} bytes`);
  print(`last fetch  ${report.lastFetchDay ?? 'never'}`);
  print(`payload     ${report.payloadFormat}`);
  print(
    `sending     ${onOff(report.sending.enabled)}, sign-as-nym ${onOff(report.sending.signAsNym)}`,
  );
  for (const line of forwardStateLines(forward)) print(line);
}

function onOff(on: boolean): string {
  return on ? 'on' : 'off';
}
