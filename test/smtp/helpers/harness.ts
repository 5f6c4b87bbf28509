/**
 * A real Haraka with the kzymy plugin on a free port, over the run's FerretDB and Redis (a fresh
 * database and key prefix), with a throwaway GnuPG home to make users' keys and decrypt what
 * was stored. Nothing is mocked.
 */
import { execFile } from 'node:child_process';
import type { KzymyConfig } from '../../../src/config/schema';
import type { NewMailEvent } from '../../../src/redis/new-mail';
import {
  startHaraka,
  type RunningHaraka,
  type StartHarakaOptions,
} from '../../../src/smtp/haraka/runner';
import type { StoredMessage, User, UserState } from '../../../src/store/types';
import { makeTestDeps, type TestDeps } from '../../helpers/deps';
import { GpgHome, type TestKey, type TestKeyKind } from '../../helpers/gpg';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export interface TestUser {
  user: User;
  key: TestKey;
  /** An address of this user: `<local>@<username>.<domain>`. */
  address(local?: string): string;
}

export interface HarnessOptions {
  settings?: DeepPartial<KzymyConfig>;
  haraka?: Partial<StartHarakaOptions>;
}

export class SmtpHarness {
  private readonly keys = new Map<TestKeyKind, Promise<TestKey>>();

  private constructor(
    readonly deps: TestDeps,
    readonly haraka: RunningHaraka,
    readonly gpg: GpgHome,
  ) {}

  static async start(options: HarnessOptions = {}): Promise<SmtpHarness> {
    const deps = await makeTestDeps({ log: { level: 'debug' }, ...options.settings });
    const gpg = await GpgHome.create();
    try {
      const haraka = await startHaraka(deps.config, {
        mongodbUrl: deps.config.mongodb.url,
        redisUrl: deps.config.redis.url,
        logger: deps.logger,
        port: 0,
        tls: deps.tls,
        ...options.haraka,
      });
      return new SmtpHarness(deps, haraka, gpg);
    } catch (error) {
      await gpg.dispose();
      await deps.close();
      throw error;
    }
  }

  get port(): number {
    return this.haraka.port;
  }

  get domain(): string {
    return this.deps.config.domain;
  }

  /** A user with a fresh store entry; keys of one kind are generated once per harness. */
  async addUser(
    options: { kind?: TestKeyKind; state?: UserState; publicKey?: string } = {},
  ): Promise<TestUser> {
    const kind = options.kind ?? 'curve25519';
    let key = this.keys.get(kind);
    if (!key) {
      key = this.gpg.generateKey(kind);
      this.keys.set(kind, key);
    }
    const testKey = await key;
    const publicKey =
      options.publicKey ?? (await this.gpg.exportPublic(testKey.fingerprint)).toString('utf8');
    const user = await this.deps.store.users.create({
      fingerprint: testKey.fingerprint,
      publicKey,
      passwordHash: 'unused',
      state: options.state ?? 'active',
    });
    const domain = this.domain;
    return {
      user,
      key: testKey,
      address: (local = 'someone') => `${local}@${user.username}.${domain}`,
    };
  }

  /** The single stored ciphertext of a user (fails if there is not exactly one). */
  async onlyCiphertext(user: User): Promise<Buffer> {
    const messages = await this.deps.store.messages.list(user.id);
    if (messages.length !== 1)
      throw new Error(`expected 1 stored message, found ${messages.length}`);
    return this.deps.store.messages.read(user.id, messages[0] as StoredMessage);
  }

  async count(user: User): Promise<number> {
    return this.deps.store.messages.count(user.id);
  }

  /** Resolves with the next new-mail event for this user (subscribe before sending). */
  nextEvent(user: User): Promise<NewMailEvent> {
    return new Promise((resolve) => {
      const off = this.deps.subscriber.on((event) => {
        if (event.userId !== user.id) return;
        off();
        resolve(event);
      });
    });
  }

  /** Runs swaks against this Haraka; resolves with its exit code and transcript. */
  swaks(args: readonly string[]): Promise<{ code: number; transcript: string }> {
    return new Promise((resolve, reject) => {
      execFile(
        'swaks',
        ['--server', `127.0.0.1:${this.port}`, '--helo', 'client.example', ...args],
        { maxBuffer: 256 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = error ? ((error as { code?: unknown }).code ?? -1) : 0;
          if (typeof code !== 'number') return reject(error);
          resolve({ code, transcript: `${stdout}${stderr}` });
        },
      );
    });
  }

  async close(): Promise<void> {
    await this.haraka.close();
    await this.gpg.dispose();
    await this.deps.close();
  }
}

/** What gpg --decrypt must give back: the delivery headers kzymy adds, then the original bytes. */
export function expectedPlaintext(from: string, recipient: string, original: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`Return-Path: <${from}>\r\nDelivered-To: ${recipient}\r\n`, 'utf8'),
    original,
  ]);
}

/** The header section of a message (up to the first empty line). */
export function headerSection(message: Buffer): string {
  const text = message.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  return end < 0 ? text : text.slice(0, end);
}

/** The SMTP reply lines swaks printed for the server ("<-  250 ..." or "<** 550 ..."). */
export function swaksReplies(transcript: string): string[] {
  return transcript
    .split('\n')
    .filter((line) => /^<[-~*]{1,2}\*?\s+\d{3}/.test(line))
    .map((line) => line.replace(/^<\S*\s+/, ''));
}
