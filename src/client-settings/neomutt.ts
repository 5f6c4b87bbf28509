/**
 * neomutt, a reader. Over IMAP it reads on the server and ends with CLOSE, never LOGOUT, so
 * kzymy's commit never comes (docs/fetching.md): `set move = yes` moves every message read to
 * a local Maildir as neomutt leaves INBOX (copy, \Deleted, expunge), so what was read is kept
 * and deleted on the server. Over POP3 `fetch-mail` (key G) copies everything into a local
 * Maildir and deletes it (`pop_delete`, QUIT). Both through torsocks.
 */
import {
  PASSWORD_FILE,
  portOf,
  proxied,
  throughTor,
  usesTls,
  type ClientSetup,
  type SetupInput,
} from './setup';

export function neomuttSetup(input: SetupInput): ClientSetup {
  const { server, username, protocol } = input;
  const tls = usesTls(server)
    ? ['set ssl_force_tls = yes']
    : ['set ssl_starttls = no', 'set ssl_force_tls = no'];
  const password = `"\`cat ${PASSWORD_FILE}\`"`;
  const lines =
    protocol === 'imap'
      ? [
          `set folder = "${usesTls(server) ? 'imaps' : 'imap'}://${username}@${server.host}:${portOf(input)}/"`,
          'set spoolfile = "+INBOX"',
          `set imap_pass = ${password}`,
          ...tls,
          '# Messages you have read are moved to this local Maildir when you leave INBOX.',
          'set mbox_type = Maildir',
          'set mbox = "~/Mail/kzymy-read"',
          'set move = yes',
        ]
      : [
          '# G (fetch-mail) moves everything waiting into this local Maildir.',
          'set mbox_type = Maildir',
          'set spoolfile = "~/Mail/kzymy"',
          `set pop_host = "${usesTls(server) ? 'pops' : 'pop'}://${username}@${server.host}:${portOf(input)}"`,
          `set pop_pass = ${password}`,
          'set pop_delete = yes',
          ...tls,
        ];
  return {
    client: 'neomutt',
    protocol,
    packages: ['neomutt', 'gnupg', ...(proxied(server) ? ['torsocks', 'tor'] : [])],
    files: [{ path: '~/.neomuttrc', text: lines.join('\n') + '\n' }],
    prepare:
      protocol === 'pop3' ? ['mkdir -p ~/Mail/kzymy/cur ~/Mail/kzymy/new ~/Mail/kzymy/tmp'] : [],
    run: throughTor(server, 'neomutt'),
    keeps:
      protocol === 'imap'
        ? 'encrypted, in the Maildir ~/Mail/kzymy-read, once read (neomutt decrypts as you open it)'
        : 'encrypted, in the Maildir ~/Mail/kzymy, after G (neomutt decrypts as you open it)',
  };
}
