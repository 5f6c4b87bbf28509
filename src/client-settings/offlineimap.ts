/**
 * offlineimap3, IMAP only. Like mbsync a synchronizer: `sync_deletes = no` on the server side
 * keeps it from deleting the local copies of what kzymy deleted after the fetch, and
 * `readonly = True` from changing anything on the server. Through Tor with torsocks: its own
 * `proxy` option needs PySocks and, by its documentation, leaks DNS.
 */
import {
  PASSWORD_FILE,
  proxied,
  throughTor,
  usesTls,
  type ClientSetup,
  type SetupInput,
} from './setup';

export function offlineimapSetup(input: SetupInput): ClientSetup {
  const { server, username } = input;
  const tls = usesTls(server)
    ? ['ssl = yes', 'sslcacertfile = OS-DEFAULT']
    : ['ssl = no', 'starttls = no'];
  const rc = [
    '[general]',
    'accounts = kzymy',
    '',
    '[Account kzymy]',
    'localrepository = kzymy-local',
    'remoterepository = kzymy-remote',
    '',
    '[Repository kzymy-local]',
    'type = Maildir',
    'localfolders = ~/Mail/kzymy',
    '',
    '[Repository kzymy-remote]',
    'type = IMAP',
    `remotehost = ${server.host}`,
    `remoteport = ${server.imapPort}`,
    `remoteuser = ${username}`,
    `remotepassfile = ${PASSWORD_FILE}`,
    ...tls,
    'sync_deletes = no',
    'readonly = True',
    '',
  ].join('\n');
  return {
    client: 'offlineimap',
    protocol: 'imap',
    packages: ['offlineimap3', ...(proxied(server) ? ['torsocks', 'tor'] : [])],
    files: [{ path: '~/.offlineimaprc', text: rc }],
    prepare: [],
    run: throughTor(server, 'offlineimap -o'),
    keeps: 'encrypted, in the Maildir ~/Mail/kzymy/INBOX',
  };
}
