/**
 * kzymy-fetch: its defaults fit the onion service (plain IMAP on 143, SOCKS5 at 127.0.0.1:9050
 * with the name resolved by Tor); the other servers say what differs.
 */
import { PASSWORD_FILE, portOf, usesTls, type ClientSetup, type SetupInput } from './setup';

export function kzymyFetchSetup(input: SetupInput): ClientSetup {
  const { server, username, protocol } = input;
  const flags: string[] = [`--server ${server.host}`];
  if (protocol === 'pop3') flags.push('--protocol pop3');
  const defaultPort = server.via === 'onion' && portOf(input) === (protocol === 'imap' ? 143 : 110);
  if (usesTls(server)) flags.push('--tls tls');
  if (server.via === 'direct') flags.push('--tls none');
  if (!defaultPort) flags.push(`--port ${portOf(input)}`);
  if (server.via === 'direct') flags.push('--no-proxy');
  return {
    client: 'kzymy-fetch',
    protocol,
    packages: ['gnupg', ...(server.via === 'direct' ? [] : ['tor'])],
    files: [],
    prepare: [],
    run: [
      `kzymy-fetch ${flags.join(' ')} \\`,
      `  --user ${username} --password-file ${PASSWORD_FILE} --maildir ~/Maildir --decrypt`,
    ].join('\n'),
    keeps: 'decrypted, in ~/Maildir/',
  };
}
