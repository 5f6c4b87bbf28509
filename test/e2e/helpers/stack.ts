/**
 * Runs kzymy as an operator does — `node dist/src/main.js --config FILE --role ROLE`, the process
 * behind `npm start` — on the run's Redis and either store engine (sqlite: one data directory the
 * deployment's processes share, as on one machine; mongodb: the run's FerretDB), every listener
 * on a free port (0). The bound ports come from the process's own `service.ready` log line.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import type { StoreEngineName } from '../../../src/config/schema';
import { sqliteStoreFile } from '../../../src/embedded/paths';
import { projectRoot } from '../../../src/util/project-root';
import { existingDatabase, type TestDatabase } from '../../helpers/engines';
import {
  testDataDir,
  testMongoUrl,
  testRedisUrl,
  uniqueDatabaseName,
} from '../../helpers/services';

const run = promisify(execFile);
const MAIN = join(projectRoot(), 'dist', 'src', 'main.js');
const CLI = join(projectRoot(), 'dist', 'src', 'cli', 'kzymy.js');

export type Role = 'all' | 'smtp' | 'daemon';

export interface Ports {
  smtp?: number;
  imap?: number;
  imaps?: number;
  pop3?: number;
  pop3s?: number;
  web?: number;
  admin?: number;
  submission?: number;
  submissions?: number;
}

/**
 * What several processes of one deployment share: the store (on sqlite, the data directory that
 * holds its file; on mongodb, the database) and the Redis prefix.
 */
export interface Deployment {
  engine: StoreEngineName;
  database: string;
  /** sqlite: the data directory every process of the deployment runs in. */
  dataDir: string;
  prefix: string;
  domain: string;
}

export function newDeployment(engine: StoreEngineName = 'sqlite'): Deployment {
  return {
    engine,
    database: uniqueDatabaseName('e2e'),
    dataDir: mkdtempSync(join(testDataDir(), 'stack-')),
    prefix: `kzymy-e2e-${randomBytes(4).toString('hex')}:`,
    domain: 'kzymy.test',
  };
}

/** The deployment's store as the test sees it (engines.ts): open it, count what is stored. */
export function deploymentDatabase(deployment: Deployment): TestDatabase {
  return existingDatabase(
    deployment.engine,
    deployment.engine === 'sqlite' ? sqliteStoreFile(deployment.dataDir) : deployment.database,
  );
}

export class StackProcess {
  /** Every line the process wrote (its JSON log lines, Haraka's included). */
  readonly output: string[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly configFile: string,
    readonly dataDir: string,
    readonly ports: Ports,
  ) {}

  static async start(
    deployment: Deployment,
    role: Role,
    extra: object = {},
  ): Promise<StackProcess> {
    // On sqlite the processes of a deployment are on one machine: one data directory.
    const own = mkdtempSync(join(testDataDir(), `stack-${role}-`));
    const dataDir = deployment.engine === 'sqlite' ? deployment.dataDir : own;
    const configFile = join(own, 'kzymy.yaml');
    const config = {
      domain: deployment.domain,
      dataDir,
      log: { level: 'debug' },
      store: { engine: deployment.engine },
      mongodb:
        deployment.engine === 'mongodb'
          ? { url: testMongoUrl(), database: deployment.database }
          : { database: deployment.database },
      redis: { url: testRedisUrl(), prefix: deployment.prefix },
      // Sender checks would ask this machine's DNS and add Authentication-Results to what the
      // tests compare byte for byte; they have their own tests (test/smtp/sender-auth.test.ts).
      smtp: { port: 0, senderAuth: { enabled: false } },
      imap: { port: 0, tlsPort: 0 },
      pop3: { port: 0, tlsPort: 0 },
      web: { port: 0, powBits: 8 },
      admin: { port: 0 },
      ...extra,
    };
    // JSON is YAML: the config file format operators use, without a YAML writer in the test.
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const env = { ...process.env };
    for (const name of Object.keys(env)) {
      if (name === 'MONGODB_URL' || name === 'REDIS_URL' || name.startsWith('KZYMY_'))
        delete env[name];
    }
    const child = spawn(process.execPath, [MAIN, '--config', configFile, '--role', role], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    const ports = await new Promise<Ports>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`kzymy ${role} did not start:\n${output.join('\n')}`)),
        60_000,
      );
      const onLine = (line: string): void => {
        output.push(line);
        if (!line.startsWith('{')) return;
        const record = JSON.parse(line) as Record<string, unknown>;
        if (record.event === 'service.ready' && record.role === role) {
          clearTimeout(timer);
          resolve(record as Ports);
        }
      };
      for (const stream of [child.stdout, child.stderr]) {
        let rest = '';
        stream?.on('data', (chunk: Buffer) => {
          const lines = (rest + chunk.toString('utf8')).split('\n');
          rest = lines.pop() ?? '';
          for (const line of lines) onLine(line);
        });
      }
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`kzymy ${role} exited with ${code}:\n${output.join('\n')}`));
      });
    });
    const stack = new StackProcess(child, configFile, dataDir, ports);
    stack.output.push(...output);
    child.stdout?.on('data', (chunk: Buffer) =>
      stack.output.push(...chunk.toString('utf8').split('\n')),
    );
    child.stderr?.on('data', (chunk: Buffer) =>
      stack.output.push(...chunk.toString('utf8').split('\n')),
    );
    return stack;
  }

  /**
   * `kzymy user add --key FILE --json` with this process's config, then `kzymy user set NAME
   * --payload exact`: these tests compare what clients fetch with the original, byte for byte
   * (the protected format has its own tests, test/smtp/header-protection.test.ts).
   */
  async addUser(keyFile: string): Promise<{ username: string; domain: string; password: string }> {
    const { stdout } = await run(process.execPath, [
      CLI,
      'user',
      'add',
      '--key',
      keyFile,
      '--json',
      '--config',
      this.configFile,
    ]);
    const account = JSON.parse(stdout) as { username: string; domain: string; password: string };
    await run(process.execPath, [
      CLI,
      'user',
      'set',
      account.username,
      '--payload',
      'exact',
      '--config',
      this.configFile,
    ]);
    return account;
  }

  async metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.ports.admin}/metrics`)).text();
  }

  /** SIGTERM, as systemd and container runtimes stop it; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    const exited = new Promise<number | null>((resolve) =>
      this.child.once('exit', (code) => resolve(code)),
    );
    this.child.kill('SIGTERM');
    return exited;
  }
}

/** Sends `original` with swaks; the file has no final CRLF, and swaks adds one before the dot. */
export async function sendWithSwaks(
  port: number,
  from: string,
  to: string,
  original: Buffer,
): Promise<string> {
  const file = join(mkdtempSync(join(testDataDir(), 'swaks-')), 'message.eml');
  writeFileSync(file, original.subarray(0, original.length - 2));
  const { stdout } = await run('swaks', [
    '--server',
    `127.0.0.1:${port}`,
    '--from',
    from,
    '--to',
    to,
    '--data',
    file,
  ]);
  return stdout;
}

/** An original message with CRLF line ends, a distinctive subject and body, ending in CRLF. */
export function originalMessage(label: string): Buffer {
  const token = `${label}-${randomBytes(6).toString('hex')}`;
  return Buffer.from(
    [
      'From: Alice <alice@example.org>',
      `To: ${label}@example.net`,
      `Subject: e2e ${token}`,
      `Message-ID: <${token}@example.org>`,
      '',
      `Body of ${token}.`,
      '.a line starting with a dot',
      'last line',
      '',
    ].join('\r\n'),
  );
}

/** What `gpg --decrypt` yields for a message kzymy accepted: delivery headers, then the original. */
export function decryptedForm(from: string, to: string, original: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`Return-Path: <${from}>\r\nDelivered-To: ${to}\r\n`),
    original,
  ]);
}

/** An imapflow client for a kzymy IMAP port on loopback (plain: loopback is allowed without TLS). */
export function imapClient(
  port: number,
  account: { username: string; password: string },
): ImapFlow {
  return new ImapFlow({
    host: '127.0.0.1',
    port,
    secure: false,
    doSTARTTLS: false,
    auth: { user: account.username, pass: account.password },
    logger: false,
  });
}

/** Fetches every message with imapflow and logs out: the commit point of delete-after-fetch. */
export async function imapFetchAll(
  port: number,
  account: { username: string; password: string },
): Promise<Buffer[]> {
  const client = imapClient(port, account);
  await client.connect();
  await client.mailboxOpen('INBOX');
  const delivered: Buffer[] = [];
  for await (const message of client.fetch('1:*', { source: true }))
    delivered.push(message.source as Buffer);
  await client.logout();
  return delivered;
}
