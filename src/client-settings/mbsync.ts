/**
 * mbsync (isync 1.4), IMAP only. A synchronizer: with `Sync Pull` it would delete its local
 * copies on the next run, because kzymy deleted the fetched messages on the server. `Sync
 * PullNew` only copies new messages to the local side and never propagates a deletion;
 * `Expunge None` keeps it from removing anything.
 *
 * Through Tor with torsocks, not `Tunnel "nc -X 5 …"`: after LOGOUT the server closes the
 * connection, OpenBSD netcat stops reading it but keeps its standard output open until its
 * standard input ends, and mbsync 1.4.4 waits for that end-of-file: neither ever exits.
 */
import {
  PASSWORD_FILE,
  proxied,
  throughTor,
  usesTls,
  type ClientSetup,
  type SetupInput,
} from './setup';

export function mbsyncSetup(input: SetupInput): ClientSetup {
  const { server, username } = input;
  const rc = [
    'IMAPAccount kzymy',
    `Host ${server.host}`,
    `Port ${server.imapPort}`,
    `User ${username}`,
    `PassCmd "cat ${PASSWORD_FILE}"`,
    usesTls(server) ? 'SSLType IMAPS' : 'SSLType None',
    'AuthMechs LOGIN',
    '',
    'IMAPStore kzymy-remote',
    'Account kzymy',
    '',
    'MaildirStore kzymy-local',
    'Path ~/Mail/kzymy/',
    'Inbox ~/Mail/kzymy/INBOX',
    '',
    'Channel kzymy',
    'Far :kzymy-remote:',
    'Near :kzymy-local:',
    'Patterns INBOX',
    'Sync PullNew',
    'Create Near',
    'Expunge None',
    'SyncState *',
    '',
  ].join('\n');
  return {
    client: 'mbsync',
    protocol: 'imap',
    packages: ['isync', ...(proxied(server) ? ['torsocks', 'tor'] : [])],
    files: [{ path: '~/.mbsyncrc', text: rc }],
    prepare: ['mkdir -p ~/Mail/kzymy'],
    run: throughTor(server, 'mbsync kzymy'),
    keeps: 'encrypted, in the Maildir ~/Mail/kzymy/INBOX',
  };
}
