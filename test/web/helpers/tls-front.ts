/**
 * What stands between a WKD client and kzymy's web listener in production, on loopback:
 *
 * - a test certificate authority and server certificates made by `openssl`;
 * - an HTTP CONNECT proxy that terminates TLS itself with such a certificate and hands the
 *   decrypted requests to kzymy's plain-HTTP web port — the operator's TLS front end (nginx,
 *   Caddy) and the Internet in one piece. GnuPG's dirmngr reaches it with its `http-proxy`
 *   option, so nothing listens on port 443 and no real DNS is needed for the host names;
 * - `gpg --locate-keys` run in a private mount namespace (`unshare --mount`, root only) where
 *   the system CA bundle — the only trust GnuPG's WKD fetch uses — is the test CA, and
 *   /etc/hosts can name extra hosts. Nothing outside that process tree sees either file change.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext, TLSSocket } from 'node:tls';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCa {
  dir: string;
  caCert: string;
  /** A key and certificate signed by the CA for the given DNS names. */
  issue(names: readonly string[]): Promise<{ key: Buffer; cert: Buffer }>;
  dispose(): Promise<void>;
}

export async function createTestCa(): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'kzymy-ca-'));
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-keyout',
    caKey,
    '-out',
    caCert,
    '-subj',
    '/CN=kzymy test CA',
    '-addext',
    'basicConstraints=critical,CA:true',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  let serial = 0;
  return {
    dir,
    caCert,
    async issue(names) {
      const base = join(dir, `server-${++serial}`);
      await run('openssl', [
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${base}.key`,
        '-out',
        `${base}.csr`,
        '-subj',
        `/CN=${names[0]}`,
      ]);
      await writeFile(
        `${base}.ext`,
        [
          `subjectAltName=${names.map((name) => `DNS:${name}`).join(',')}`,
          'basicConstraints=CA:false',
          'extendedKeyUsage=serverAuth',
          '',
        ].join('\n'),
      );
      await run('openssl', [
        'x509',
        '-req',
        '-in',
        `${base}.csr`,
        '-CA',
        caCert,
        '-CAkey',
        caKey,
        '-set_serial',
        String(serial),
        '-days',
        '2',
        '-out',
        `${base}.crt`,
        '-extfile',
        `${base}.ext`,
      ]);
      return { key: await readFile(`${base}.key`), cert: await readFile(`${base}.crt`) };
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface TlsFront {
  port: number;
  /** The host:port of every CONNECT, in order. */
  connects: string[];
  close(): Promise<void>;
}

/** A CONNECT proxy terminating TLS with `pair` and forwarding to 127.0.0.1:`target` in clear. */
export async function startTlsFront(
  pair: { key: Buffer; cert: Buffer },
  target: number,
): Promise<TlsFront> {
  const context = createSecureContext(pair);
  const connects: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      client.off('data', onData);
      const match = /^CONNECT (\S+) HTTP\/1\.[01]\r\n/.exec(head);
      if (!match) {
        client.end('HTTP/1.0 405 Method Not Allowed\r\n\r\n');
        return;
      }
      connects.push(match[1] as string);
      client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      const tls = new TLSSocket(client, { isServer: true, secureContext: context });
      tls.on('error', () => client.destroy());
      const upstream = connect(target, '127.0.0.1');
      upstream.on('error', () => tls.destroy());
      tls.pipe(upstream);
      upstream.pipe(tls);
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    connects,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Whether this process may make a private mount namespace (root on Linux). */
export async function canUnshareMounts(): Promise<boolean> {
  try {
    await run('unshare', ['--mount', 'true']);
    return true;
  } catch {
    return false;
  }
}

export interface LocateResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command` (a gpg command line, e.g. the one docs/wkd.md shows) with GNUPGHOME=`homedir`,
 * dirmngr sent through `proxyPort` and trusting only `caCert`; `hosts` lines are added to
 * /etc/hosts.
 */
export async function gpgInNamespace(options: {
  homedir: string;
  command: readonly string[];
  proxyPort: number;
  caCert: string;
  hosts?: readonly string[];
}): Promise<LocateResult> {
  const scratch = await mkdtemp(join(tmpdir(), 'kzymy-ns-'));
  try {
    await writeFile(
      join(options.homedir, 'dirmngr.conf'),
      `http-proxy http://127.0.0.1:${options.proxyPort}\n`,
    );
    const bundle = join(scratch, 'ca-certificates.crt');
    await writeFile(bundle, await readFile(options.caCert));
    const mounts = [`mount --bind ${bundle} /etc/ssl/certs/ca-certificates.crt`];
    if (options.hosts && options.hosts.length > 0) {
      const hosts = join(scratch, 'hosts');
      const system = await readFile('/etc/hosts', 'utf8');
      await writeFile(hosts, `${system}\n${options.hosts.join('\n')}\n`);
      mounts.push(`mount --bind ${hosts} /etc/hosts`);
    }
    const script = `${mounts.join(' && ')} && exec "$@"`;
    return await new Promise<LocateResult>((resolve, reject) => {
      const child = spawn('unshare', ['--mount', 'sh', '-c', script, 'sh', ...options.command], {
        env: { ...process.env, GNUPGHOME: options.homedir, LC_ALL: 'C', LANGUAGE: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  } finally {
    // dirmngr keeps running in the namespace until its home's agents are stopped (dispose()).
    await rm(scratch, { recursive: true, force: true });
  }
}
