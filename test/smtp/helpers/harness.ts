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
import type { PayloadFormat, StoredMessage, User, UserState } from '../../../src/store/types';
import { makeTestDeps, type TestDeps } from '../../helpers/deps';
import { TestDnsServer, type DnsZone } from '../../helpers/dns-server';
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
  /**
   * The payload format of the users addUser makes. Tests about transport (every byte of the
   * message got through) use 'exact', whose payload is the original after the delivery headers;
   * the protected format has its own tests (header-protection.test.ts).
   */
  payloadFormat?: PayloadFormat;
  /**
   * Check senders (SPF, DKIM, DMARC, ARC) against a DNS server on loopback answering from this
   * zone (test/helpers/dns-server.ts). Off unless given, so the other tests' payloads carry no
   * Authentication-Results and never depend on this machine's DNS.
   */
  dns?: DnsZone;
}

export class SmtpHarness {
  private readonly keys = new Map<TestKeyKind, Promise<TestKey>>();

  private constructor(
    readonly deps: TestDeps,
    readonly haraka: RunningHaraka,
    readonly gpg: GpgHome,
    private readonly payloadFormat: PayloadFormat,
    /** The DNS server sender authentication asks, when options.dns was given. */
    readonly dns: TestDnsServer | undefined,
  ) {}

  static async start(options: HarnessOptions = {}): Promise<SmtpHarness> {
    const dns = options.dns ? await TestDnsServer.start(options.dns) : undefined;
    const senderAuth = dns
      ? { enabled: true, dnsServers: [dns.address], queryTimeoutMs: 500, timeoutMs: 5_000 }
      : { enabled: false };
    const settings = options.settings ?? {};
    const deps = await makeTestDeps({
      log: { level: 'debug' },
      ...settings,
      smtp: { ...settings.smtp, senderAuth: { ...senderAuth, ...settings.smtp?.senderAuth } },
    });
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
      return new SmtpHarness(deps, haraka, gpg, options.payloadFormat ?? 'protected', dns);
    } catch (error) {
      await gpg.dispose();
      await deps.close();
      await dns?.close();
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
    options: {
      kind?: TestKeyKind;
      state?: UserState;
      publicKey?: string;
      payloadFormat?: PayloadFormat;
    } = {},
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
    const created = await this.deps.store.users.create({
      fingerprint: testKey.fingerprint,
      publicKey,
      passwordHash: 'unused',
      state: options.state ?? 'active',
    });
    const payloadFormat = options.payloadFormat ?? this.payloadFormat;
    if (payloadFormat !== created.payloadFormat)
      await this.deps.store.users.setPayloadFormat(created.id, payloadFormat);
    const user = { ...created, payloadFormat };
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
    await this.dns?.close();
  }
}

/**
 * What gpg --decrypt must give back to a user of the exact format: the delivery headers kzymy
 * adds, then the original bytes.
 */
export function expectedPlaintext(
  from: string,
  recipient: string,
  original: Buffer,
  authenticationResults?: string,
): Buffer {
  const ar =
    authenticationResults === undefined
      ? ''
      : `Authentication-Results: ${authenticationResults}\r\n`;
  return Buffer.concat([
    Buffer.from(`Return-Path: <${from}>\r\nDelivered-To: ${recipient}\r\n${ar}`, 'utf8'),
    original,
  ]);
}

/** The value of the (first) Authentication-Results field of a payload, unfolding kept. */
export function authenticationResultsOf(payload: Buffer): string | undefined {
  const match = /^Authentication-Results: ((?:.*)(?:\r\n[ \t].*)*)\r\n/m.exec(
    payload.toString('latin1'),
  );
  return match?.[1];
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
