/**
 * The network pieces of the fetch tests, all on loopback:
 *
 * - a real SOCKS5 proxy (Debian's microsocks) whose outgoing connections are bound to a
 *   distinctive address, PROXY_EXIT, so the server side can tell proxied connections apart;
 * - a "witness": a TCP relay in front of a server that records the remote address of every
 *   connection it receives — the server-side view, without kzymy logging any address;
 * - a stand-in for Tor's onion resolution: a SOCKS5 front end that accepts only host names
 *   (ATYP 3), maps `<name>.onion` to a loopback port, and forwards through microsocks. A client
 *   that resolved names itself, or sent an address, would fail here: that is the socks5h test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { socksConnect } from '../../../src/kzymy-fetch/socks5';
import { freePort, waitForPort } from '../../../src/util/ports';

/** The address microsocks binds its outgoing side to (any 127/8 address works on Linux). */
export const PROXY_EXIT = '127.66.55.44';

export interface Microsocks {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export async function startMicrosocks(): Promise<Microsocks> {
  const port = await freePort();
  const child = spawn('microsocks', ['-i', '127.0.0.1', '-p', String(port), '-b', PROXY_EXIT], {
    stdio: 'ignore',
  });
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  await waitForPort('127.0.0.1', port, 10_000, alive);
  return { port, pid: child.pid ?? 0, stop: () => stopChild(child) };
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export interface Witness {
  port: number;
  /** Remote address of every connection received, in order. */
  remotes: string[];
  close(): Promise<void>;
}

/** A TCP relay to 127.0.0.1:target that records who connected. */
export async function startWitness(target: number): Promise<Witness> {
  const remotes: string[] = [];
  const server = createServer((inbound) => {
    remotes.push(inbound.remoteAddress ?? '?');
    pipeBoth(inbound, connect(target, '127.0.0.1'));
  });
  track(server);
  const port = await listen(server);
  return { port, remotes, close: () => closeServer(server) };
}

export interface OnionRequest {
  /** RFC 1928 command: 1 = CONNECT; 0xF0 = RESOLVE, Tor's extension (clearnet names only). */
  command: number;
  /** RFC 1928 address type the client used: 3 = host name (socks5h). */
  addressType: number;
  host: string;
  port: number;
}

export interface OnionProxy {
  port: number;
  requests: OnionRequest[];
  /** The addresses RESOLVE handed out, and the name each stands for. */
  resolved: Map<string, string>;
  close(): Promise<void>;
}

/**
 * A SOCKS5 server that knows some onion services (and clearnet names): `services[name][port]`
 * is the loopback port behind `name:port`. Everything goes on through the upstream SOCKS proxy
 * (microsocks). A clearnet name can also be resolved through it first, as torsocks does.
 */
export async function startOnionProxy(
  upstreamPort: number,
  services: Record<string, Record<number, number>>,
): Promise<OnionProxy> {
  const requests: OnionRequest[] = [];
  const resolved = new Map<string, string>();
  const server = createServer((client) => {
    client.on('error', () => undefined);
    void handshake(client).then(
      async (request) => {
        if (!request) return;
        requests.push(request);
        if (request.command === RESOLVE) {
          // Tor's RESOLVE extension (what torsocks asks for a name that is not .onion): an
          // address that stands for the name, which a later CONNECT may use — from 198.18/15
          // (RFC 2544's test range), since torsocks refuses to connect to local addresses. Onion names and
          // unknown names get "host unreachable", as from Tor.
          const known = request.addressType === 3 && !request.host.endsWith('.onion');
          if (!known || !services[request.host]) {
            client.end(Buffer.from([5, 4, 0, 1, 0, 0, 0, 0, 0, 0]));
            return;
          }
          const address = `198.18.0.${resolved.size + 1}`;
          resolved.set(address, request.host);
          const octets = address.split('.').map(Number);
          client.end(Buffer.from([5, 0, 0, 1, ...octets, 0, 0]));
          return;
        }
        // torsocks sends the address RESOLVE gave it back as text (address type 3).
        const name = resolved.get(request.host) ?? (request.addressType === 3 ? request.host : '');
        const target = services[name]?.[request.port];
        if (target === undefined) {
          // 0x04 host unreachable (Tor answers 0xF0-0xF7 for onion trouble when asked to).
          client.end(Buffer.from([5, 4, 0, 1, 0, 0, 0, 0, 0, 0]));
          return;
        }
        try {
          const upstream = await socksConnect({
            proxy: { host: '127.0.0.1', port: upstreamPort },
            host: '127.0.0.1',
            port: target,
            timeoutMs: 10_000,
          });
          client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
          pipeBoth(client, upstream);
        } catch {
          client.end(Buffer.from([5, 1, 0, 1, 0, 0, 0, 0, 0, 0]));
        }
      },
      () => client.destroy(),
    );
  });
  track(server);
  const port = await listen(server);
  return { port, requests, resolved, close: () => closeServer(server) };
}

/** Tor's SOCKS extension command for a name lookup (tor's socks-extensions.txt). */
const RESOLVE = 0xf0;

/** The RFC 1928 server side up to the CONNECT request. */
async function handshake(client: Socket): Promise<OnionRequest | null> {
  const reader = new ByteReader(client);
  try {
    const [version, methods] = await reader.read(2);
    if (version !== 5) return null;
    await reader.read(methods ?? 0);
    client.write(Buffer.from([5, 0]));
    const [, command, , addressType] = await reader.read(4);
    let host: string;
    if (addressType === 3) {
      const [length] = await reader.read(1);
      host = (await reader.read(length ?? 0)).toString('utf8');
    } else if (addressType === 1) {
      host = [...(await reader.read(4))].join('.');
    } else {
      host = (await reader.read(16)).toString('hex');
    }
    const port = (await reader.read(2)).readUInt16BE(0);
    return { command: command ?? 0, addressType: addressType ?? 0, host, port };
  } finally {
    reader.detach();
  }
}

/** Exact-length reads from a socket; detach() gives the stream back (SOCKS clients send nothing early). */
class ByteReader {
  private buffered = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  private closed = false;
  private readonly onData = (chunk: Buffer): void => {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    this.wake();
  };
  private readonly onClose = (): void => {
    this.closed = true;
    this.wake();
  };

  constructor(private readonly socket: Socket) {
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
  }

  async read(count: number): Promise<Buffer> {
    while (this.buffered.length < count) {
      if (this.closed) throw new Error('closed during the SOCKS handshake');
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
    const out = this.buffered.subarray(0, count);
    this.buffered = this.buffered.subarray(count);
    return out;
  }

  detach(): void {
    this.socket.pause();
    this.socket.removeListener('data', this.onData);
    this.socket.removeListener('close', this.onClose);
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.();
  }
}

function pipeBoth(a: Socket, b: Socket): void {
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.pipe(b);
  b.pipe(a);
  a.resume();
  b.resume();
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

/**
 * Stops listening and ends every connection still open: a client that left a connection
 * half-closed must not keep the test waiting (net.Server has no closeAllConnections).
 */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    for (const socket of open.get(server) ?? []) socket.destroy();
  });
}

/** The sockets each server accepted and is still relaying, for closeServer. */
const open = new WeakMap<Server, Set<Socket>>();

function track(server: Server): void {
  const sockets = new Set<Socket>();
  open.set(server, sockets);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
}
