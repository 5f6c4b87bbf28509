/**
 * The mail client settings on the activation and account pages, rendered from the set-ups of
 * src/client-settings — the same text docs/clients/ shows and test/clients runs. Over the onion
 * service the connection is already end-to-end encrypted and authenticated by Tor, so the plain
 * ports are used; over clearnet only the TLS ports.
 */
import { CLIENTS } from '../../client-settings';
import type { MailServer } from '../../client-settings/servers';
import {
  CLIENT_IDS,
  passwordFileCommands,
  proxied,
  usesTls,
  type ClientSetup,
} from '../../client-settings/setup';
import { h, join, nothing, type Html } from '../html';
import { copyable } from './layout';

export { hostOf, mailServers, type MailServer } from '../../client-settings/servers';

const TITLES: Record<MailServer['via'], string> = {
  onion: 'Through Tor',
  clearnet: 'Over the Internet with TLS (through Tor)',
  direct: 'Directly (no onion address is configured on this server)',
};

function setupHtml(setup: ClientSetup): Html {
  const files = setup.files.map(
    (file) => h`<p><code>${file.path}</code>:</p>${copyable(file.text)}`,
  );
  return h`<h5>${setup.protocol.toUpperCase()}</h5>
  ${join(files)}
  ${setup.prepare.length > 0 ? h`<p>Once:</p>${copyable(setup.prepare.join('\n'))}` : nothing}
  <p>Fetch (keeps your mail ${setup.keeps}):</p>
  ${copyable(setup.run)}`;
}

function thunderbird(server: MailServer): Html {
  const tls = usesTls(server);
  return h`<details>
  <summary>Thunderbird</summary>
  <p>Use <strong>POP3</strong>: Thunderbird downloads each message into a local folder, and the
    server deletes it. (With IMAP, add a message filter that moves new mail to Local Folders;
    otherwise what kzymy deletes after the fetch vanishes from view.)</p>
  <ul>
    ${
      proxied(server)
        ? h`<li>Settings → Network Settings → Manual proxy: SOCKS host <code>127.0.0.1</code>, port
      <code>9050</code> (<code>9150</code> while Tor Browser runs), SOCKS v5, and tick
      <em>Proxy DNS when using SOCKS v5</em>.</li>`
        : nothing
    }
    <li>New account, <em>Configure manually</em>: incoming POP3, server
      <code>${server.host}</code>, port <code>${server.pop3Port}</code>, connection security
      <em>${tls ? 'SSL/TLS' : 'None'}</em>, authentication <em>Normal password</em>, user name
      as above. kzymy receives only: leave the outgoing server unused.</li>
    <li>Server Settings: untick <em>Leave messages on server</em>.</li>
    <li>Account Settings → End-To-End Encryption: import your secret key so Thunderbird can
      read your mail.</li>
  </ul>
</details>`;
}

export function clientSettings(username: string, server: MailServer): Html {
  const tls = usesTls(server);
  const clients = CLIENT_IDS.map((id) => {
    const entry = CLIENTS[id];
    const setups = entry.protocols.map((protocol) => entry.make({ server, username, protocol }));
    return h`<details>
  <summary>${entry.title}</summary>
  ${join(setups.map(setupHtml))}
</details>`;
  });
  return h`<section class="settings">
  <h3>${TITLES[server.via]}: ${server.host}</h3>
  <p>IMAP port ${server.imapPort}, POP3 port ${server.pop3Port}${tls ? ' (TLS)' : ''}, user
    name <code>${username}</code>, the password from your activation message. Mail is deleted
    from the server once your client has fetched it; it stays encrypted to your key until you
    decrypt it.${proxied(server) ? ' Every set-up below goes through Tor (127.0.0.1:9050), and names are resolved by Tor, never by your local DNS.' : ''}</p>
  <p>First put the password, alone, in a file only you can read (replace the placeholder):</p>
  ${copyable(passwordFileCommands().join('\n'))}
  ${join(clients)}
  ${thunderbird(server)}
</section>`;
}
