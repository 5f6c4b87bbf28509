/**
 * A SOCKS5 CONNECT client (RFC 1928, with RFC 1929 user/password for Tor's stream isolation).
 *
 * Written here rather than taken from a library because the one property that matters is easy
 * to get wrong: the destination is always sent as a host name (ATYP 3, "socks5h"), so the proxy
 * resolves it. Nothing is ever looked up in local DNS, and `.onion` names reach Tor intact.
 * (imapflow's built-in proxy support calls dns.resolve() on the host first: a DNS leak, and
 * `.onion` fails.)
 */
import { connect, type Socket } from 'node:net';
import { FetchError } from './errors';

export interface ProxyAddress {
  host: string;
  port: number;
  /** RFC 1929 credentials; Tor uses them only to isolate circuits (IsolateSOCKSAuth). */
  username?: string;
  password?: string;
}

export interface SocksConnectOptions {
  proxy: ProxyAddress;
  host: string;
  port: number;
  timeoutMs: number;
}

// RFC 1928 §6 reply codes, and Tor's extended codes for onion services (tor's socks-extensions.txt).
const REPLY_TEXT: Record<number, string> = {
  0x01: 'general SOCKS server failure',
  0x02: 'connection not allowed by the proxy',
  0x03: 'network unreachable',
  0x04: 'host unreachable',
  0x05: 'connection refused by the server',
  0x06: 'TTL expired (timed out)',
  0x07: 'command not supported',
  0x08: 'address type not supported',
  0xf0: 'onion service descriptor not found (is the address right, is the service up?)',
  0xf1: 'onion service descriptor is invalid',
  0xf2: 'onion service introduction failed',
  0xf3: 'onion service rendezvous failed',
  0xf4: 'onion service needs client authorization',
  0xf5: 'onion service client authorization was refused',
  0xf6: 'invalid onion address',
  0xf7: 'onion service introduction timed out',
};

/** Opens a TCP stream to host:port through the proxy; resolves once the proxy reports success. */
export function socksConnect(options: SocksConnectOptions): Promise<Socket> {
  const { proxy, host, port } = options;
  const hostBytes = Buffer.from(host, 'utf8');
  if (hostBytes.length === 0 || hostBytes.length > 255) {
    return Promise.reject(new FetchError('config', `host name too long for SOCKS5: ${host}`));
  }
  const useAuth = proxy.username !== undefined || proxy.password !== undefined;

  return new Promise((resolve, reject) => {
    const socket = connect({ host: proxy.host, port: proxy.port });
    let buffered = Buffer.alloc(0);
    let stage: 'connecting' | 'method' | 'auth' | 'reply' | 'done' = 'connecting';

    const fail = (error: FetchError): void => {
      if (stage === 'done') return;
      stage = 'done';
      socket.destroy();
      reject(error);
    };
    const timer = setTimeout(
      () =>
        fail(
          new FetchError(
            stage === 'connecting' ? 'proxy-down' : 'server-unreachable',
            stage === 'connecting'
              ? `the SOCKS proxy ${proxy.host}:${proxy.port} did not answer within ${options.timeoutMs} ms`
              : `the proxy could not reach ${host}:${port} within ${options.timeoutMs} ms`,
          ),
        ),
      options.timeoutMs,
    );

    socket.once('connect', () => {
      stage = 'method';
      // RFC 1928 §3: VER 5, NMETHODS, METHODS (0x00 no auth, 0x02 user/password).
      socket.write(Buffer.from(useAuth ? [5, 1, 2] : [5, 1, 0]));
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (stage === 'connecting') {
        fail(
          new FetchError(
            'proxy-down',
            `cannot connect to the SOCKS proxy ${proxy.host}:${proxy.port} (${error.code ?? error.message}): is Tor running?`,
            { cause: error },
          ),
        );
      } else {
        fail(
          new FetchError('proxy-down', `the SOCKS proxy dropped the connection`, { cause: error }),
        );
      }
    });
    socket.on('close', () =>
      fail(
        new FetchError('proxy-down', 'the SOCKS proxy closed the connection during the handshake'),
      ),
    );

    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      if (stage === 'method') {
        if (buffered.length < 2) return;
        const method = buffered[1];
        buffered = buffered.subarray(2);
        if (method === 0x02 && useAuth) {
          stage = 'auth';
          // RFC 1929 §2: VER 1, ULEN, UNAME, PLEN, PASSWD.
          const user = Buffer.from(proxy.username ?? '', 'utf8');
          const pass = Buffer.from(proxy.password ?? '', 'utf8');
          socket.write(
            Buffer.concat([Buffer.from([1, user.length]), user, Buffer.from([pass.length]), pass]),
          );
        } else if (method === 0x00 && !useAuth) {
          sendConnect();
        } else {
          fail(new FetchError('proxy-down', 'the SOCKS proxy accepts none of our methods'));
          return;
        }
      }
      if (stage === 'auth') {
        if (buffered.length < 2) return;
        const status = buffered[1];
        buffered = buffered.subarray(2);
        if (status !== 0) {
          fail(new FetchError('proxy-down', 'the SOCKS proxy refused the user name and password'));
          return;
        }
        sendConnect();
      }
      if (stage === 'reply') {
        // RFC 1928 §6: VER REP RSV ATYP BND.ADDR BND.PORT.
        if (buffered.length < 5) return;
        const reply = buffered[1] ?? 0xff;
        if (reply !== 0) {
          const text = REPLY_TEXT[reply] ?? `SOCKS reply 0x${reply.toString(16)}`;
          fail(
            new FetchError('server-unreachable', `the proxy cannot reach ${host}:${port}: ${text}`),
          );
          return;
        }
        const atyp = buffered[3];
        const addressLength =
          atyp === 1 ? 4 : atyp === 4 ? 16 : atyp === 3 ? 1 + (buffered[4] ?? 0) : -1;
        if (addressLength < 0) {
          fail(new FetchError('protocol', 'the SOCKS proxy sent a malformed reply'));
          return;
        }
        const total = 4 + addressLength + 2;
        if (buffered.length < total) return;
        const rest = buffered.subarray(total);
        stage = 'done';
        clearTimeout(timer);
        socket.pause();
        socket.removeListener('data', onData);
        socket.removeAllListeners('error');
        socket.removeAllListeners('close');
        // Anything the server already sent (its greeting) goes back in front of the stream.
        if (rest.length > 0) socket.unshift(rest);
        resolve(socket);
      }
    };
    socket.on('data', onData);

    function sendConnect(): void {
      stage = 'reply';
      const portBytes = Buffer.alloc(2);
      portBytes.writeUInt16BE(port);
      // RFC 1928 §4: VER 5, CMD 1 (CONNECT), RSV, ATYP 3 (domain name): the proxy resolves it.
      socket.write(
        Buffer.concat([Buffer.from([5, 1, 0, 3, hostBytes.length]), hostBytes, portBytes]),
      );
    }
  });
}
