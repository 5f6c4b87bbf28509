/**
 * Every client set-up kzymy shows, from one place: the activation and account pages render
 * them (src/web/views/client-settings.ts), docs/clients/ hold them (docs-blocks.ts checks and
 * rewrites those blocks), and test/clients runs each with the real client, twice.
 */
import { fetchmailSetup } from './fetchmail';
import { getmailSetup } from './getmail';
import { kzymyFetchSetup } from './kzymy-fetch';
import { mbsyncSetup } from './mbsync';
import { neomuttSetup } from './neomutt';
import { offlineimapSetup } from './offlineimap';
import type { MailServer } from './servers';
import type { ClientId, ClientSetup, Protocol, SetupInput } from './setup';

export const CLIENTS: Record<
  ClientId,
  { title: string; protocols: readonly Protocol[]; make: (input: SetupInput) => ClientSetup }
> = {
  'kzymy-fetch': { title: 'kzymy-fetch', protocols: ['imap', 'pop3'], make: kzymyFetchSetup },
  fetchmail: { title: 'fetchmail', protocols: ['imap', 'pop3'], make: fetchmailSetup },
  getmail: { title: 'getmail6', protocols: ['imap', 'pop3'], make: getmailSetup },
  mbsync: { title: 'mbsync (isync)', protocols: ['imap'], make: mbsyncSetup },
  offlineimap: { title: 'offlineimap3', protocols: ['imap'], make: offlineimapSetup },
  neomutt: { title: 'neomutt', protocols: ['imap', 'pop3'], make: neomuttSetup },
};

export function clientSetup(
  client: ClientId,
  server: MailServer,
  username: string,
  protocol: Protocol,
): ClientSetup {
  const entry = CLIENTS[client];
  if (!entry.protocols.includes(protocol)) throw new Error(`${client} has no ${protocol} set-up`);
  return entry.make({ server, username, protocol });
}
