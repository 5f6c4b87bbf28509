/**
 * Ready-made settings for the mail clients kzymy supports, filled in for one account. Over the
 * onion service the connection is already end-to-end encrypted and authenticated by Tor, so the
 * plain ports are used; over clearnet only the TLS ports.
 */
import type { KzymyConfig } from '../../config/schema';
import { h, type Html } from '../html';
import { copyable } from './layout';

export interface MailServer {
  host: string;
  /**
   * onion: the onion service, which publishes IMAP on 143 and POP3 on 110 (`kzymy tor`);
   * clearnet: the configured clearnet name, TLS ports only;
   * direct: no address configured (a development setup): the listeners as they are.
   */
  via: 'onion' | 'clearnet' | 'direct';
  imapPort: number;
  pop3Port: number;
}

/** A host name from a configured address ("http://x.onion/", "x.onion:80" or "x.onion"). */
export function hostOf(address: string): string {
  const withoutScheme = address.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  return (withoutScheme.split('/')[0] ?? '').replace(/:\d+$/, '').toLowerCase();
}

/** The servers to show: the onion service first, clearnet when configured, else the host used now. */
export function mailServers(config: Readonly<KzymyConfig>, requestHost: string): MailServer[] {
  const onion = hostOf(config.web.onionAddress);
  const clearnet = hostOf(config.web.clearnetAddress);
  const servers: MailServer[] = [];
  // The virtual ports src/cli/tor.ts publishes, whatever the local listeners use.
  if (onion) servers.push({ host: onion, via: 'onion', imapPort: 143, pop3Port: 110 });
  if (clearnet) {
    servers.push({
      host: clearnet,
      via: 'clearnet',
      imapPort: config.imap.tlsPort,
      pop3Port: config.pop3.tlsPort,
    });
  }
  if (servers.length === 0) {
    servers.push({
      host: hostOf(requestHost) || '127.0.0.1',
      via: 'direct',
      imapPort: config.imap.port,
      pop3Port: config.pop3.port,
    });
  }
  return servers;
}

const TITLES: Record<MailServer['via'], string> = {
  onion: 'Through Tor',
  clearnet: 'Over the Internet with TLS (through Tor)',
  direct: 'Directly (no onion address is configured on this server)',
};

/** kzymy-fetch's defaults fit the onion service (plain IMAP on 143, through 127.0.0.1:9050). */
const FETCH_FLAGS: Record<MailServer['via'], (server: MailServer) => string> = {
  onion: () => '',
  clearnet: (server) => ` --tls tls --port ${server.imapPort}`,
  direct: (server) => ` --tls none --port ${server.imapPort} --no-proxy`,
};

export function clientSettings(username: string, server: MailServer): Html {
  const tls = server.via === 'clearnet';
  const proxied = server.via !== 'direct';
  const password = 'PASSWORD-FROM-THE-ACTIVATION-MESSAGE';
  const kzymyFetch = [
    `kzymy-fetch --server ${server.host}${FETCH_FLAGS[server.via](server)} \\`,
    `  --user ${username} --password-file ~/.config/kzymy/password --maildir ~/Maildir/`,
  ].join('\n');
  const fetchmail = [
    `poll ${server.host} protocol IMAP port ${server.imapPort}`,
    ...(proxied ? ['    plugin "nc -X 5 -x 127.0.0.1:9050 %h %p"'] : []),
    tls ? '    ssl sslcertck' : "    sslproto ''",
    `    user "${username}" password "${password}"`,
    '    fetchall',
    '    mda "/usr/bin/procmail"',
  ].join('\n');
  const getmail = [
    '[retriever]',
    tls ? 'type = SimpleIMAPSSLRetriever' : 'type = SimpleIMAPRetriever',
    `server = ${server.host}`,
    `port = ${server.imapPort}`,
    `username = ${username}`,
    'password_command = ("/bin/cat", "/home/you/.config/kzymy/password")',
    '',
    '[destination]',
    'type = Maildir',
    'path = ~/Maildir/',
    '',
    '[options]',
    'read_all = true',
    'delete = true',
  ].join('\n');
  return h`<section class="settings">
  <h3>${TITLES[server.via]}: ${server.host}</h3>
  <p>IMAP port ${server.imapPort}, POP3 port ${server.pop3Port}${tls ? ' (TLS)' : ''}, user
    name <code>${username}</code>, the password from your activation message. Mail is deleted
    from the server once your client has fetched it; it stays encrypted to your key until you
    decrypt it.</p>
  <h4>kzymy-fetch</h4>
  <p>Put the password alone in <code>~/.config/kzymy/password</code> (<code>chmod 600</code>).
    Add <code>--decrypt</code> to store the decrypted messages instead.</p>
  ${copyable(kzymyFetch)}
  <h4>fetchmail (<code>~/.fetchmailrc</code>${proxied ? ", through Tor's SOCKS port" : ''})</h4>
  ${copyable(fetchmail)}
  <h4>getmail (<code>~/.config/getmail/getmailrc</code>${proxied ? h`, run as <code>torsocks getmail</code>` : ''})</h4>
  ${copyable(getmail)}
  <h4>Thunderbird</h4>
  <ul>
    ${
      proxied
        ? h`<li>Settings → Network Settings → Manual proxy: SOCKS host <code>127.0.0.1</code>, port
      <code>9050</code> (<code>9150</code> while Tor Browser runs), SOCKS v5, and tick
      <em>Proxy DNS when using SOCKS v5</em>.</li>`
        : ''
    }
    <li>New account, <em>Configure manually</em>: incoming IMAP, server
      <code>${server.host}</code>, port <code>${server.imapPort}</code>, connection security
      <em>${tls ? 'SSL/TLS' : 'None'}</em>, authentication <em>Normal password</em>, user name
      <code>${username}</code>. kzymy receives only: leave the outgoing server unused.</li>
    <li>Account Settings → End-To-End Encryption: import your secret key so Thunderbird can
      read your mail.</li>
  </ul>
</section>`;
}
