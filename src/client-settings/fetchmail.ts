/**
 * fetchmail 6.4: fetches, hands each message to procmail (which decrypts it into ~/Maildir/)
 * and deletes it on the server; the local copy is the user's.
 *
 * fetchmail has no SOCKS support; its `plugin` runs OpenBSD netcat, which asks Tor to connect
 * to the name (SOCKS5 with the host name, "socks5h"). And `no dns`: fetchmail 6.4 looks up the
 * poll name's canonical name in local DNS before it runs the plugin (`dns` is on by default;
 * the manual files it under multidrop, but 6.4.37 does it for this single-drop setup too) —
 * a leak of the onion name to the resolver, and a failure (`Query status=11`).
 */
import {
  PASSWORD_PLACEHOLDER,
  SOCKS_PROXY,
  portOf,
  procmailrc,
  proxied,
  usesTls,
  type ClientSetup,
  type SetupInput,
} from './setup';

export function fetchmailSetup(input: SetupInput): ClientSetup {
  const { server, username, protocol } = input;
  const rc = [
    'set no bouncemail',
    'set no syslog',
    '',
    `poll ${server.host} protocol ${protocol.toUpperCase()} service ${portOf(input)}`,
    ...(proxied(server) ? [`    plugin "nc -X 5 -x ${SOCKS_PROXY} %h %p"`, '    no dns'] : []),
    `    user "${username}" password "${PASSWORD_PLACEHOLDER}"`,
    // User options after `user`. No TLS inside an onion connection (Tor encrypts and
    // authenticates it; the server's certificate names the clearnet domain).
    usesTls(server) ? '    ssl sslcertck' : "    sslproto ''",
    '    fetchall',
    '    mda "/usr/bin/procmail"',
    '',
  ].join('\n');
  return {
    client: 'fetchmail',
    protocol,
    packages: [
      'fetchmail',
      'procmail',
      'gnupg',
      ...(proxied(server) ? ['netcat-openbsd', 'tor'] : []),
    ],
    files: [{ path: '~/.fetchmailrc', text: rc }, procmailrc()],
    prepare: ['chmod 600 ~/.fetchmailrc'],
    run: 'fetchmail',
    keeps: 'decrypted, in ~/Maildir/',
  };
}
