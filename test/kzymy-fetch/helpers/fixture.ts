/**
 * Everything a kzymy-fetch test stands on: the real IMAP and POP3 servers over the run's FerretDB
 * and Redis, a GnuPG home holding the user's key pair, microsocks, witnesses in front of the
 * servers, accounts with real passwords, messages encrypted by kzymy's own encryptToPgpMime,
 * and the kzymy-fetch binary run as a child process exactly as a user would run it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { generatePassword, hashPassword } from '../../../src/auth/password';
import { startImapServers, type ImapServers } from '../../../src/imap/server';
import { composeMessage, encryptComposed } from '../../../src/pgp/pgp-mime';
import type { PayloadFormat } from '../../../src/store/types';
import { startPop3Servers, type Pop3Servers } from '../../../src/pop3/server';
import { projectRoot } from '../../../src/util/project-root';
import type { User } from '../../../src/store/types';
import { makeTestDeps, type TestDeps } from '../../helpers/deps';
import { GpgHome, type TestKey } from '../../helpers/gpg';
import { testDataDir } from '../../helpers/services';
import { startMicrosocks, startWitness, type Microsocks, type Witness } from './proxies';

export interface Account {
  user: User;
  password: string;
  /** A mode-600 file holding the password. */
  passwordFile: string;
}

export interface FetchRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export const FETCH_CLI = join(projectRoot(), 'dist', 'src', 'kzymy-fetch', 'cli.js');

export class FetchFixture {
  private constructor(
    readonly deps: TestDeps,
    readonly imap: ImapServers,
    readonly pop3: Pop3Servers,
    readonly gpg: GpgHome,
    readonly key: TestKey,
    readonly publicKey: string,
    readonly socks: Microsocks,
    /** Witnesses in front of the plain IMAP and POP3 ports (and IMAPS). */
    readonly witness: { imap: Witness; imaps: Witness; pop3: Witness },
    readonly dir: string,
  ) {}

  static async start(): Promise<FetchFixture> {
    const deps = await makeTestDeps({
      imap: { port: 0, tlsPort: 0 },
      pop3: { port: 0, tlsPort: 0 },
      // For the Haraka that haraka.test.ts starts: no sender checks against this machine's DNS
      // (they have their own tests), so what is stored is what those tests expect.
      smtp: { senderAuth: { enabled: false } },
    });
    const imap = await startImapServers(deps);
    const pop3 = await startPop3Servers(deps);
    const gpg = await GpgHome.create();
    const key = await gpg.generateKey('curve25519');
    const publicKey = (await gpg.exportPublic(key.fingerprint)).toString('utf8');
    const socks = await startMicrosocks();
    const witness = {
      imap: await startWitness(imap.plain.port),
      imaps: await startWitness(imap.tls.port),
      pop3: await startWitness(pop3.plain.port),
    };
    const dir = mkdtempSync(join(testDataDir(), 'fetch-'));
    return new FetchFixture(deps, imap, pop3, gpg, key, publicKey, socks, witness, dir);
  }

  /**
   * A live account. Its payload format is 'exact' unless asked otherwise: these tests compare
   * what is delivered with the original, byte for byte.
   */
  async addAccount(format: PayloadFormat = 'exact'): Promise<Account> {
    const password = generatePassword();
    const created = await this.deps.store.users.create({
      fingerprint: this.key.fingerprint,
      publicKey: this.publicKey,
      passwordHash: await hashPassword(password),
      state: 'active',
    });
    await this.deps.store.users.setPayloadFormat(created.id, format);
    const user = { ...created, payloadFormat: format };
    const passwordFile = join(this.dir, `${user.username}.password`);
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    return { user, password, passwordFile };
  }

  /**
   * Stores `original` for the user the way the SMTP side does (encrypted first) and returns
   * what decrypting it must give. The exact format (the default here, so tests can compare with
   * the original): kzymy's delivery headers, then the original bytes; the protected format: the
   * payload composeMessage built (docs/message-format.md).
   */
  async deposit(
    user: User,
    original: Buffer,
    from = 'alice@example.org',
    format: PayloadFormat = 'exact',
  ): Promise<Buffer> {
    const recipient = `someone@${user.username}.${this.deps.config.domain}`;
    const composed = composeMessage({
      raw: original,
      publicKeyArmored: this.publicKey,
      envelopeFrom: from,
      recipients: [recipient],
      arrival: new Date(),
      format,
      domain: this.deps.config.domain,
      outerTo: `kzymy@${user.username}.${this.deps.config.domain}`,
    });
    const parts: Buffer[] = [];
    for await (const part of await encryptComposed(composed)) parts.push(part);
    const stored = await this.deps.store.messages.add(user.id, Buffer.concat(parts), new Date());
    // As Haraka does after storing: an idling IMAP session hears of it through Redis.
    await this.deps.publisher.publish({ userId: user.id, uid: stored.uid });
    return Buffer.concat(composed.payload.pieces);
  }

  count(user: User): Promise<number> {
    return this.deps.store.messages.count(user.id);
  }

  /** A fresh directory under this fixture's. */
  scratch(label: string): string {
    return mkdtempSync(join(this.dir, `${label}-`));
  }

  /** The options every run needs: server through the witness, the proxy, the account. */
  baseArgs(account: Account, protocol: 'imap' | 'pop3' = 'imap'): string[] {
    return [
      '--server',
      '127.0.0.1',
      '--protocol',
      protocol,
      '--port',
      String(protocol === 'imap' ? this.witness.imap.port : this.witness.pop3.port),
      '--tls',
      'none',
      '--user',
      account.user.username,
      '--password-file',
      account.passwordFile,
      '--proxy',
      `127.0.0.1:${this.socks.port}`,
      '--state-file',
      join(this.dir, `${account.user.username}.state.json`),
    ];
  }

  runFetch(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<FetchRun> {
    return runNode(FETCH_CLI, args, env);
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.witness).map((w) => w.close()));
    await this.socks.stop();
    await this.imap.plain.close();
    await this.imap.tls.close();
    await this.pop3.plain.close();
    await this.pop3.tls.close();
    await this.gpg.dispose();
    await this.deps.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

export function runNode(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<FetchRun> {
  return runCommand(process.execPath, [script, ...args], env);
}

export function runCommand(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<FetchRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
  });
}

/** A plain message with CRLF line endings, a "From " body line (mbox quoting) and a canary. */
export function sampleMessage(label: string): Buffer {
  const canary = `canary-${label}-${randomBytes(6).toString('hex')}`;
  return Buffer.from(
    [
      'From: Alice Example <alice@example.org>',
      `To: ${label}@someone.kzymy.test`,
      `Subject: kzymy-fetch test ${label}`,
      'Date: Tue, 02 Dec 2025 14:03:09 +0000',
      `Message-ID: <${randomBytes(8).toString('hex')}@example.org>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Hello ${label}. ${canary}`,
      'From the start of a line, mbox must quote this.',
      '>From an already quoted line too.',
      'Grüße.',
      '',
    ].join('\r\n'),
    'utf8',
  );
}

/** CRLF → LF, as kzymy-fetch delivers by default. */
export function lf(message: Buffer): Buffer {
  return Buffer.from(message.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
}

/** A random, well-formed v3 onion name (56 base32 characters). */
export function onionName(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bytes = randomBytes(56);
  return `${[...bytes].map((b) => alphabet[b % 32]).join('')}.onion`;
}
