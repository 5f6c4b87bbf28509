/**
 * Opens the stream to the mail server: through the SOCKS5h proxy unless the user said
 * --no-proxy, then TLS when the port speaks it from the first byte (IMAPS 993, POP3S 995).
 * STARTTLS/STLS happen later, inside the protocol clients.
 */
import { isIP, connect, type Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { FetchError } from './errors';
import { socksConnect, type ProxyAddress } from './socks5';
import { tlsHandshake, Wire } from './wire';

export type TlsMode = 'none' | 'starttls' | 'tls';

export interface ServerEndpoint {
  host: string;
  port: number;
  tls: TlsMode;
  /** PEM CA certificates to trust instead of the system's (a self-signed server certificate). */
  ca?: Buffer;
}

export interface OpenedWire {
  wire: Wire;
  /** TLS options for STARTTLS/STLS, or null when no upgrade is wanted. */
  startTls: ConnectionOptions | null;
}

export async function openWire(
  server: ServerEndpoint,
  proxy: ProxyAddress | null,
  timeoutMs: number,
): Promise<OpenedWire> {
  const socket = proxy
    ? await socksConnect({ proxy, host: server.host, port: server.port, timeoutMs })
    : await directConnect(server.host, server.port, timeoutMs);
  const tlsOptions: ConnectionOptions = {
    host: server.host,
    // RFC 6066 §3: SNI carries host names only, never an address literal.
    ...(isIP(server.host) ? {} : { servername: server.host }),
    ...(server.ca ? { ca: server.ca } : {}),
    minVersion: 'TLSv1.2',
    rejectUnauthorized: true,
  };
  if (server.tls === 'tls') {
    const secure = await tlsHandshake({ ...tlsOptions, socket }, timeoutMs);
    return { wire: new Wire(secure, timeoutMs), startTls: null };
  }
  return {
    wire: new Wire(socket, timeoutMs),
    startTls: server.tls === 'starttls' ? tlsOptions : null,
  };
}

/** Only with --no-proxy: a plain TCP connection, resolved by the local resolver. */
function directConnect(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new FetchError(
          'server-unreachable',
          `${host}:${port} did not answer within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.pause();
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new FetchError(
          'server-unreachable',
          `cannot connect to ${host}:${port} (${error.code ?? error.message})`,
          {
            cause: error,
          },
        ),
      );
    });
  });
}
