/**
 * Opening a plain or TLS socket to a test listener, optionally from a chosen source address.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

export interface ConnectOptions {
  port: number;
  host?: string;
  /** Implicit TLS. */
  tls?: boolean;
  /** Source address, e.g. the privacy canary 127.77.88.99. */
  localAddress?: string;
}

export function openSocket(options: ConnectOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const host = options.host ?? '127.0.0.1';
    // tls.connect hands its options to net.connect, which takes localAddress (untyped there).
    const tlsOptions: ConnectionOptions & { localAddress?: string } = {
      host,
      port: options.port,
      localAddress: options.localAddress,
      rejectUnauthorized: false,
    };
    const socket: Socket = options.tls
      ? tlsConnect(tlsOptions)
      : netConnect({ host, port: options.port, localAddress: options.localAddress });
    socket.once(options.tls ? 'secureConnect' : 'connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
