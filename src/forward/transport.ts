/** The transport settings of forwarding, from the `forward` section of the configuration. */
import type { KzymyConfig } from '../config/schema';
import type { ProxyAddress } from '../kzymy-fetch/socks5';
import type { TransportOptions } from './smtp-client';

export function transportOptions(config: Readonly<KzymyConfig>): TransportOptions {
  return {
    proxy: proxyAddress(config.forward.proxy),
    heloName: config.domain,
    timeoutMs: config.forward.timeoutSeconds * 1000,
    allowPrivateHosts: config.forward.allowPrivateHosts,
  };
}

/** `socks5h://host:port` (the schema allows nothing else) or '' for a direct connection. */
export function proxyAddress(value: string): ProxyAddress | null {
  if (value === '') return null;
  const url = new URL(value);
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port) };
}
