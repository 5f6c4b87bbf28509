/**
 * Shared helpers for the mailbox-access tests (test/imap, test/pop3, test/sweeper): users with
 * real passwords, real PGP/MIME messages made by kzymy's own encryptToPgpMime to a key in a
 * throwaway GnuPG home, line-level IMAP and POP3 clients for protocol details the stock clients
 * do not show, and running the Debian clients (fetchmail, getmail, mbsync).
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { generatePassword, hashPassword } from '../../src/auth/password';
import type { DaemonDeps } from '../../src/daemon-deps';
import type { RunningServer } from '../../src/util/running-server';
import { startImapServers } from '../../src/imap/server';
import { startPop3Servers } from '../../src/pop3/server';
import { makeTestDeps, type TestDeps } from './deps';
import { encryptToPgpMime } from '../../src/pgp/pgp-mime';
import type { User } from '../../src/store/types';
import { configuredDatabase } from './engines';
import { GpgHome } from './gpg';

export interface TestAccount {
  user: User;
  password: string;
}

/** An active user with a real (scrypt) password. */
export async function createAccount(
  deps: DaemonDeps,
  key: { fingerprint: string; publicKey: string } = {
    fingerprint: randomBytes(20).toString('hex').toUpperCase(),
    publicKey: '',
  },
): Promise<TestAccount> {
  const password = generatePassword();
  const user = await deps.store.users.create({
    fingerprint: key.fingerprint,
    publicKey: key.publicKey,
    passwordHash: await hashPassword(password),
    state: 'active',
  });
  return { user, password };
}

/** A realistic plaintext message with a distinctive canary line. */
export function plaintextMessage(label: string, bodyBytes = 0): Buffer {
  const canary = `canary-${label}-${randomBytes(6).toString('hex')}`;
  const filler = bodyBytes > 0 ? fillerLines(bodyBytes) : '';
  return Buffer.from(
    [
      'Received: from mx.example.org (mx.example.org [192.0.2.10])',
      '\tby relay.example.net with ESMTPS id 4Xy; Tue, 02 Dec 2025 14:03:09 +0000',
      'From: Alice Example <alice@example.org>',
      `To: ${label}@someone.kzymy.test`,
      `Subject: Test message ${label} =?UTF-8?Q?gr=C3=BC=C3=9Fe?=`,
      'Date: Tue, 02 Dec 2025 14:03:09 +0000',
      `Message-ID: <${randomBytes(8).toString('hex')}@example.org>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      `Hello ${label}, this is a test. ${canary}`,
      'Grüße aus dem Testlabor.',
      '.a line that starts with a dot',
      filler,
    ].join('\r\n') + '\r\n',
  );
}

function fillerLines(bytes: number): string {
  const line = 'The quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmnopqrstuvwxyz';
  return Array.from({ length: Math.ceil(bytes / (line.length + 2)) }, () => line).join('\r\n');
}

/** A GnuPG home with one Curve25519 key, and kzymy's encryption to it. */
export class PgpFixture {
  private constructor(
    readonly gpg: GpgHome,
    readonly fingerprint: string,
    readonly publicKey: string,
  ) {}

  static async create(): Promise<PgpFixture> {
    const gpg = await GpgHome.create();
    const key = await gpg.generateKey('curve25519');
    const armored = (await gpg.exportPublic(key.fingerprint)).toString('utf8');
    return new PgpFixture(gpg, key.fingerprint, armored);
  }

  /** The stored form: a complete PGP/MIME message, as Haraka's queue plugin writes it. */
  async encrypt(plaintext: Buffer, arrival = new Date()): Promise<Buffer> {
    return encryptToPgpMime({
      raw: plaintext,
      publicKeyArmored: this.publicKey,
      envelopeFrom: 'alice@example.org',
      recipients: ['someone@someone.kzymy.test'],
      arrival,
      domain: 'kzymy.test',
      outerTo: 'undisclosed-recipients:;',
      // The clients' tests compare what they fetch with the original, byte for byte.
      format: 'exact',
    });
  }

  /** gpg --decrypt of a delivered message (gpg finds the armored block inside the MIME text). */
  async decrypt(delivered: Buffer): Promise<Buffer> {
    return this.gpg.decrypt(delivered);
  }

  async dispose(): Promise<void> {
    await this.gpg.dispose();
  }
}

/** What decryption yields: kzymy's delivery headers, then the original bytes. */
export function expectedPlaintext(original: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from('Return-Path: <alice@example.org>\r\nDelivered-To: someone@someone.kzymy.test\r\n'),
    original,
  ]);
}

/** Stores `count` encrypted messages for a user and returns [ciphertext, plaintext] pairs. */
export async function storeMessages(
  deps: DaemonDeps,
  pgp: PgpFixture,
  userId: string,
  count: number,
  label = 'm',
): Promise<Array<{ ciphertext: Buffer; plaintext: Buffer; uid: number }>> {
  const out = [];
  for (let i = 0; i < count; i++) {
    const plaintext = plaintextMessage(`${label}${i}`);
    const ciphertext = await pgp.encrypt(plaintext);
    const stored = await deps.store.messages.add(userId, ciphertext, new Date());
    out.push({ ciphertext, plaintext, uid: stored.uid });
  }
  return out;
}

/** A mailbox whose key is the fixture's (so clients can decrypt), holding `count` messages. */
export async function mailboxWithMail(
  fixture: Pick<MailboxServers, 'deps' | 'pgp'>,
  count: number,
): Promise<{ account: TestAccount; stored: Awaited<ReturnType<typeof storeMessages>> }> {
  const { deps, pgp } = fixture;
  const account = await createAccount(deps, {
    fingerprint: pgp.fingerprint,
    publicKey: pgp.publicKey,
  });
  return { account, stored: await storeMessages(deps, pgp, account.user.id, count) };
}

export interface ConnectOptions {
  port: number;
  host?: string;
  /** Implicit TLS. */
  tls?: boolean;
  /** Source address, e.g. the privacy canary 127.77.88.99. */
  localAddress?: string;
}

function openSocket(options: ConnectOptions): Promise<Socket> {
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

/** One logical IMAP response line, with the literals that were embedded in it. */
export interface ImapLine {
  text: string;
  literals: Buffer[];
}

/**
 * A line-level IMAP client: sends commands, assembles responses with their literals, and lets a
 * test wait for a specific untagged line (with a deadline, never a sleep).
 */
export class RawImap {
  readonly lines: ImapLine[] = [];
  private buffer = Buffer.alloc(0);
  private pending: ImapLine | null = null;
  private literalBytes = -1;
  private waiters: Array<{ test: (line: ImapLine) => boolean; resolve: (l: ImapLine) => void }> =
    [];
  private tagCount = 0;
  private closed = false;
  /** Bytes received, for tests that cut a transfer short. */
  received = 0;

  private constructor(public socket: Socket) {
    this.attach(socket);
  }

  static async connect(options: ConnectOptions): Promise<RawImap> {
    const client = new RawImap(await openSocket(options));
    await client.waitFor((line) => line.text.startsWith('* OK'), 5000);
    return client;
  }

  get greeting(): string {
    return this.lines[0]?.text ?? '';
  }

  private attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => undefined);
  }

  private parse(): void {
    for (;;) {
      if (this.literalBytes >= 0) {
        if (this.buffer.length < this.literalBytes) return;
        this.pending?.literals.push(this.buffer.subarray(0, this.literalBytes));
        this.buffer = this.buffer.subarray(this.literalBytes);
        this.literalBytes = -1;
        continue;
      }
      const end = this.buffer.indexOf('\r\n');
      if (end < 0) return;
      const text = this.buffer.subarray(0, end).toString('latin1');
      this.buffer = this.buffer.subarray(end + 2);
      const line = this.pending ?? { text: '', literals: [] };
      line.text += text;
      const literal = /\{(\d+)\}$/.exec(text);
      if (literal) {
        this.pending = line;
        this.literalBytes = Number(literal[1]);
        continue;
      }
      this.pending = null;
      this.lines.push(line);
      this.waiters = this.waiters.filter((waiter) => {
        if (!waiter.test(line)) return true;
        waiter.resolve(line);
        return false;
      });
    }
  }

  /** Resolves with the first line (already received or future) that passes `test`. */
  waitFor(test: (line: ImapLine) => boolean, timeoutMs = 10_000, from = 0): Promise<ImapLine> {
    const seen = this.lines.slice(from).find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter.resolve !== done);
        reject(new Error(`no matching IMAP line within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (line: ImapLine): void => {
        clearTimeout(timer);
        resolve(line);
      };
      this.waiters.push({ test, resolve: done });
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends a tagged command; resolves with the tagged line and everything since it was sent. */
  async command(
    text: string,
    timeoutMs = 30_000,
  ): Promise<{ status: string; tagged: string; untagged: ImapLine[] }> {
    const tag = `t${++this.tagCount}`;
    const from = this.lines.length;
    this.write(`${tag} ${text}\r\n`);
    const tagged = await this.waitFor((line) => line.text.startsWith(tag + ' '), timeoutMs, from);
    const untagged = this.lines.slice(from).filter((line) => line !== tagged);
    return { status: tagged.text.split(' ')[1] ?? '', tagged: tagged.text, untagged };
  }

  async login(username: string, password: string): Promise<void> {
    const result = await this.command(`LOGIN ${username} "${password}"`);
    if (result.status !== 'OK') throw new Error(`login failed: ${result.tagged}`);
  }

  /** STARTTLS (RFC 3501 §6.2.1), then carries on over TLS. */
  async startTls(): Promise<void> {
    const result = await this.command('STARTTLS');
    if (result.status !== 'OK') throw new Error(`STARTTLS refused: ${result.tagged}`);
    const plain = this.socket;
    plain.removeAllListeners('data');
    this.socket = await new Promise<TLSSocket>((resolve, reject) => {
      const secure = tlsConnect({ socket: plain, rejectUnauthorized: false }, () =>
        resolve(secure),
      );
      secure.once('error', reject);
    });
    this.attach(this.socket);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async logout(): Promise<void> {
    if (this.closed) return;
    const closed = new Promise((resolve) => this.socket.once('close', resolve));
    await this.command('LOGOUT');
    await closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A line-level POP3 client (RFC 1939), with multi-line responses un-dot-stuffed. */
export class RawPop3 {
  private buffer = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private closed = false;

  private constructor(public socket: Socket) {
    this.attach(socket);
  }

  static async connect(options: ConnectOptions): Promise<{ client: RawPop3; greeting: string }> {
    const client = new RawPop3(await openSocket(options));
    const greeting = await client.readLine();
    return { client, greeting };
  }

  private attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  private async until(test: () => number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = test();
      if (at >= 0) return at;
      if (this.closed) throw new Error('POP3 connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('POP3 response timed out');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = null;
          resolve();
        };
      });
    }
  }

  async readLine(timeoutMs = 10_000): Promise<string> {
    const end = await this.until(() => this.buffer.indexOf('\r\n'), timeoutMs);
    const line = this.buffer.subarray(0, end).toString('latin1');
    this.buffer = this.buffer.subarray(end + 2);
    return line;
  }

  /** Sends a command and reads its status line. */
  async command(text: string): Promise<string> {
    this.socket.write(text + '\r\n');
    return this.readLine();
  }

  /** Sends a command expecting a multi-line answer; returns status and un-stuffed data. */
  async multi(text: string, timeoutMs = 30_000): Promise<{ status: string; data: Buffer }> {
    const status = await this.command(text);
    if (!status.startsWith('+OK')) return { status, data: Buffer.alloc(0) };
    const end = await this.until(() => {
      if (this.buffer.subarray(0, 3).equals(Buffer.from('.\r\n'))) return 0;
      const at = this.buffer.indexOf('\r\n.\r\n');
      return at < 0 ? -1 : at + 2;
    }, timeoutMs);
    const raw = this.buffer.subarray(0, end);
    this.buffer = this.buffer.subarray(end + 3);
    // RFC 1939 §3: a line starting with the termination octet was stuffed with another.
    const data = Buffer.from(raw.toString('latin1').replace(/(^|\r\n)\.\./g, '$1.'), 'latin1');
    return { status, data };
  }

  /** After "+OK" to STLS (RFC 2595 §4): continues over TLS. */
  async startTls(): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    this.socket = await new Promise<TLSSocket>((resolve, reject) => {
      const secure = tlsConnect({ socket: plain, rejectUnauthorized: false }, () =>
        resolve(secure),
      );
      secure.once('error', reject);
    });
    this.attach(this.socket);
  }

  async quit(): Promise<string> {
    const closed = new Promise((resolve) => this.socket.once('close', resolve));
    const reply = await this.command('QUIT');
    await closed;
    return reply;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a client program to completion (with a deadline) and collects its output. */
export function runProgram(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, LC_ALL: 'C', ...options.env },
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Whether a program is installed (tests of a missing client are skipped, loudly). */
export function hasProgram(name: string): Promise<boolean> {
  return new Promise((resolve) =>
    execFile('sh', ['-c', `command -v ${name}`], (error) => resolve(!error)),
  );
}

/** Every file under `dir` whose bytes contain `needle`. */
export function filesContaining(dir: string, needle: string): string[] {
  const found: string[] = [];
  const pattern = Buffer.from(needle);
  const walk = (path: string): void => {
    for (const entry of readdirSync(path)) {
      const full = join(path, entry);
      let stats;
      try {
        stats = statSync(full);
      } catch {
        continue;
      }
      if (stats.isDirectory()) walk(full);
      else if (stats.isFile() && !full.endsWith('.sock')) {
        try {
          if (readFileSync(full).includes(pattern)) found.push(full);
        } catch {
          // unreadable (a socket, a vanished temp file): nothing to find there
        }
      }
    }
  };
  walk(dir);
  return found;
}

/** The files of a Maildir (new/ and cur/), in name order. */
export function maildirMessages(dir: string): Buffer[] {
  const files: string[] = [];
  for (const sub of ['new', 'cur']) {
    try {
      for (const name of readdirSync(join(dir, sub))) files.push(join(dir, sub, name));
    } catch {
      // not created: no messages there
    }
  }
  return files.sort().map((file) => readFileSync(file));
}

/** CRLF to LF: clients that write local files (Maildir, MDA pipes) store Unix line ends. */
export function toLf(data: Buffer): Buffer {
  return Buffer.from(data.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
}

/** Where a Debian client should fetch from. */
export interface ClientTarget {
  port: number;
  username: string;
  password: string;
  /** Implicit TLS (the imaps/pop3s port); otherwise plain, with STARTTLS if the client likes. */
  tls?: boolean;
  /** The server's (self-signed) certificate, for clients that must verify it. */
  certFile?: string;
}

/** A private temp directory a non-root delivery user can write to (getmail refuses root). */
function clientDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

function makeMaildir(dir: string): void {
  for (const sub of ['cur', 'new', 'tmp']) {
    mkdirSync(join(dir, sub), { recursive: true });
    chmodSync(join(dir, sub), 0o777);
  }
  chmodSync(dir, 0o777);
}

/**
 * fetchmail (6.4) with an MDA that writes each message to a file. `set invisible` keeps it from
 * adding its Received header; it hands the MDA the message with LF line ends.
 */
export async function runFetchmail(
  protocol: 'IMAP' | 'POP3',
  target: ClientTarget,
  options: { fetchall?: boolean } = {},
): Promise<{ result: RunResult; delivered: Buffer[] }> {
  const dir = clientDir('kz-fetchmail-');
  const out = join(dir, 'out');
  mkdirSync(out);
  const mda = join(dir, 'mda.sh');
  writeFileSync(mda, `#!/bin/sh\nexec cat > "${out}/$(date +%s%N)-$$"\n`);
  chmodSync(mda, 0o755);
  const rc = join(dir, 'fetchmailrc');
  writeFileSync(
    rc,
    [
      'set no bouncemail',
      'set invisible',
      `poll 127.0.0.1 service ${target.port} protocol ${protocol}`,
      `  username "${target.username}" password "${target.password}"`,
      // The test certificate is self-signed: TLS without verification (STARTTLS on the plain port).
      // Without fetchall, fetchmail asks only for unseen mail (POP3: the obsolete LAST, then UIDL).
      `  ${options.fetchall === false ? '' : 'fetchall '}no rewrite ${target.tls ? 'ssl ' : ''}no sslcertck`,
      `  mda "${mda}"`,
    ].join('\n') + '\n',
  );
  chmodSync(rc, 0o600);
  // Its own lock file: as root, fetchmail would otherwise share /var/run/fetchmail.pid with
  // any other fetchmail on the machine (and refuse to run beside it).
  const result = await runProgram(
    'fetchmail',
    ['-v', '--nosyslog', '--pidfile', join(dir, 'fetchmail.pid'), '-f', rc],
    { env: { HOME: dir, FETCHMAILHOME: dir } },
  );
  const delivered = readdirSync(out)
    .sort()
    .map((name) => readFileSync(join(out, name)));
  rmSync(dir, { recursive: true, force: true });
  return { result, delivered };
}

/**
 * getmail6 into a Maildir. It writes LF line ends and prepends "Return-Path: <unknown>" (it
 * knows no envelope sender); delivered_to and received are turned off.
 */
export async function runGetmail(
  protocol: 'IMAP' | 'POP3',
  target: ClientTarget,
): Promise<{ result: RunResult; delivered: Buffer[] }> {
  const dir = clientDir('kz-getmail-');
  const maildir = join(dir, 'Maildir');
  makeMaildir(maildir);
  const retriever = `Simple${protocol}${target.tls ? 'SSL' : ''}Retriever`;
  writeFileSync(
    join(dir, 'getmailrc'),
    [
      '[retriever]',
      `type = ${retriever}`,
      'server = 127.0.0.1',
      `port = ${target.port}`,
      `username = ${target.username}`,
      `password = ${target.password}`,
      // record_mailbox: no X-getmail-retrieved-from-mailbox header.
      ...(protocol === 'IMAP' ? ['mailboxes = ("INBOX",)', 'record_mailbox = false'] : []),
      '',
      '[destination]',
      'type = Maildir',
      `path = ${maildir}/`,
      // getmail will not deliver as root; tests may run as root.
      ...(process.getuid?.() === 0 ? ['user = nobody'] : []),
      '',
      '[options]',
      'delete = true',
      'read_all = true',
      'delivered_to = false',
      'received = false',
      'verbose = 2',
      'message_log_syslog = false',
    ].join('\n') + '\n',
  );
  const result = await runProgram('getmail', ['--getmaildir', dir, '--rcfile', 'getmailrc'], {
    env: { HOME: dir },
  });
  const delivered = maildirMessages(maildir);
  rmSync(dir, { recursive: true, force: true });
  return { result, delivered };
}

/**
 * mbsync (isync 1.4) pulling INBOX into a Maildir. It writes LF line ends and adds an X-TUID
 * header line at the end of the header.
 */
export async function runMbsync(
  target: ClientTarget,
): Promise<{ result: RunResult; delivered: Buffer[] }> {
  const dir = clientDir('kz-mbsync-');
  const store = join(dir, 'mail');
  mkdirSync(store);
  writeFileSync(
    join(dir, 'mbsyncrc'),
    [
      'IMAPAccount kzymy',
      // mbsync matches the certificate against host names only, not IP addresses.
      `Host ${target.tls ? 'localhost' : '127.0.0.1'}`,
      `Port ${target.port}`,
      `User ${target.username}`,
      `Pass ${target.password}`,
      target.tls ? 'SSLType IMAPS' : 'SSLType None',
      ...(target.tls ? [`CertificateFile ${target.certFile}`, 'SSLVersions TLSv1.2 TLSv1.3'] : []),
      'AuthMechs LOGIN',
      '',
      'IMAPStore remote',
      'Account kzymy',
      '',
      'MaildirStore local',
      `Path ${store}/`,
      `Inbox ${store}/INBOX`,
      '',
      'Channel kzymy',
      'Far :remote:',
      'Near :local:',
      'Patterns INBOX',
      'Sync Pull',
      'Create Near',
      'Expunge None',
      'SyncState *',
    ].join('\n') + '\n',
  );
  const result = await runProgram('mbsync', ['-V', '-c', join(dir, 'mbsyncrc'), '-a'], {
    env: { HOME: dir },
  });
  const delivered = maildirMessages(join(store, 'INBOX'));
  rmSync(dir, { recursive: true, force: true });
  return { result, delivered };
}

/** Undoes a client's documented local changes, leaving the message as the server sent it (LF). */
export function asSent(client: 'fetchmail' | 'getmail' | 'mbsync', delivered: Buffer): Buffer {
  let text = delivered.toString('latin1');
  if (client === 'getmail') text = text.replace(/^Return-Path: <unknown>\n/, '');
  if (client === 'mbsync') {
    const headerEnd = text.indexOf('\n\n');
    const header = text.slice(0, headerEnd + 1).replace(/^X-TUID: [^\n]*\n/m, '');
    text = header + text.slice(headerEnd + 1);
  }
  return Buffer.from(text, 'latin1');
}

/**
 * The server holds nothing for a user: no message, no ciphertext chunk (looked up in the
 * database itself, not through the store), no quota use.
 */
export async function expectMailboxEmpty(deps: DaemonDeps, userId: string): Promise<void> {
  const messages = await deps.store.messages.list(userId);
  if (messages.length > 0) throw new Error(`${messages.length} messages left for the user`);
  const used = await deps.store.messages.usedBytes(userId);
  if (used !== 0) throw new Error(`${used} bytes still counted for the user`);
  const database = configuredDatabase(deps.config);
  try {
    const chunks = await database.chunksOf(userId);
    if (chunks !== 0) throw new Error(`${chunks} ciphertext chunks left for the user`);
  } finally {
    await database.close();
  }
}

/**
 * Resolves with the first log record of `event` (after the first `from` lines) that passes
 * `test`: the way a test learns that a server has finished with a connection.
 */
export async function waitForLog(
  logLines: string[],
  event: string,
  test: (record: Record<string, unknown>) => boolean = () => true,
  options: { from?: number; timeoutMs?: number } = {},
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let next = options.from ?? 0;
  for (;;) {
    for (; next < logLines.length; next++) {
      const record = JSON.parse(logLines[next] as string) as Record<string, unknown>;
      if (record.event === event && test(record)) return record;
    }
    if (Date.now() > deadline) throw new Error(`no ${event} log line in time`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface MailboxServers {
  deps: TestDeps;
  servers: { plain: RunningServer; tls: RunningServer };
  pgp: PgpFixture;
}

/**
 * Registers mocha hooks that start real IMAP or POP3 listeners (STARTTLS and implicit TLS, on free
 * ports) over fresh deps, with a PGP fixture, and stop them afterwards. The returned object is
 * filled in by the time the tests run.
 */
export function useMailboxServers(protocol: 'imap' | 'pop3'): MailboxServers {
  const fixture = {} as MailboxServers;
  before(async function () {
    fixture.deps = await makeTestDeps({ [protocol]: { port: 0, tlsPort: 0 } });
    fixture.servers = await (protocol === 'imap' ? startImapServers : startPop3Servers)(
      fixture.deps,
    );
    fixture.pgp = await PgpFixture.create();
  });
  after(async function () {
    await fixture.servers?.plain.close();
    await fixture.servers?.tls.close();
    await fixture.pgp?.dispose();
    await fixture.deps?.close();
  });
  return fixture;
}
