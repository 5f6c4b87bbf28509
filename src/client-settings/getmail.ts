/**
 * getmail6: like fetchmail, hands each message to procmail (decrypted into ~/Maildir/) and
 * deletes it on the server. It has no proxy setting: it runs under torsocks.
 */
import {
  PASSWORD_FILE,
  portOf,
  procmailrc,
  proxied,
  throughTor,
  usesTls,
  type ClientSetup,
  type SetupInput,
} from './setup';

export function getmailSetup(input: SetupInput): ClientSetup {
  const { server, username, protocol } = input;
  const retriever = `Simple${protocol === 'imap' ? 'IMAP' : 'POP3'}${usesTls(server) ? 'SSL' : ''}Retriever`;
  const rc = [
    '[retriever]',
    `type = ${retriever}`,
    `server = ${server.host}`,
    `port = ${portOf(input)}`,
    `username = ${username}`,
    // getmail runs the command without a shell, so a shell expands the ~.
    `password_command = ("/bin/sh", "-c", "cat ${PASSWORD_FILE}")`,
    // getmail checks no certificate unless it is given the CAs (Debian's list here).
    ...(usesTls(server) ? ['ca_certs = /etc/ssl/certs/ca-certificates.crt'] : []),
    '',
    '[destination]',
    'type = MDA_external',
    'path = /usr/bin/procmail',
    '',
    '[options]',
    'read_all = true',
    'delete = true',
    'verbose = 0',
    '',
  ].join('\n');
  return {
    client: 'getmail',
    protocol,
    packages: ['getmail6', 'procmail', 'gnupg', ...(proxied(server) ? ['torsocks', 'tor'] : [])],
    files: [{ path: '~/.config/getmail/getmailrc', text: rc }, procmailrc()],
    prepare: ['chmod 600 ~/.config/getmail/getmailrc'],
    run: throughTor(server, 'getmail --rcfile getmailrc'),
    keeps: 'decrypted, in ~/Maildir/',
  };
}
