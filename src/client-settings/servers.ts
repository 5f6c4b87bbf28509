/**
 * Where a user's client connects: the onion service, a clearnet name, or (with neither
 * configured, a development setup) the listeners as they are.
 */
import type { KzymyConfig } from '../config/schema';

export interface MailServer {
  host: string;
  /**
   * onion: the onion service, which publishes IMAP on 143 and POP3 on 110 (`kzymy tor`);
   * clearnet: the configured clearnet name, TLS ports only, still reached through Tor;
   * direct: no address configured (a development setup): the listeners as they are, no proxy.
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

/** What the activation page calls each kind of server. */
export const SERVER_LABELS: Record<MailServer['via'], string> = {
  onion: 'Onion address',
  clearnet: 'Clearnet address',
  direct: 'Server (no onion or clearnet address is configured)',
};
