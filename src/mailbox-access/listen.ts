/** Listener helpers shared by the IMAP and POP3 servers. */
import type { Server } from 'node:net';

/**
 * Whether a listener's host is loopback. Tor onion services reach kzymy over loopback, where
 * TLS adds nothing (Tor already encrypts end to end), so plaintext login is allowed there.
 */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^(::ffff:)?127\./.test(name);
}

/** Starts listening and resolves with the bound port (0 picks a free one). */
export function listen(
  server: Server,
  host: string,
  port: number,
  start: () => void,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    start();
  });
}
