/**
 * TLS material. Operators configure their certificate (tls.key / tls.cert); without one, a
 * self-signed pair for the mail domain is generated once under the data directory for
 * development and tests (docs/operations/deploy.md, "TLS").
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
  keyFile: string;
  certFile: string;
}

const run = promisify(execFile);

export async function loadTls(options: {
  key: string;
  cert: string;
  dataDir: string;
  domain: string;
}): Promise<TlsMaterial> {
  let keyFile = options.key;
  let certFile = options.cert;
  if (!keyFile || !certFile) {
    const dir = join(options.dataDir, 'tls');
    keyFile = join(dir, 'self-signed.key');
    certFile = join(dir, 'self-signed.crt');
    if (!existsSync(keyFile) || !existsSync(certFile)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      await run('openssl', [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '825',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-subj',
        `/CN=${options.domain}`,
        '-addext',
        `subjectAltName=DNS:${options.domain},DNS:*.${options.domain},DNS:localhost,IP:127.0.0.1`,
      ]);
    }
  }
  return { key: await readFile(keyFile), cert: await readFile(certFile), keyFile, certFile };
}
