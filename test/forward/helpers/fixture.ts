/**
 * What the forwarding tests share: real deps (the run's store engine and Redis), a GnuPG key, users
 * whose mail is really encrypted to it and stored as Haraka stores it, and a polling wait.
 */
import { randomBytes } from 'node:crypto';
import type { KzymyConfig } from '../../../src/config/schema';
import { encryptToPgpMime } from '../../../src/pgp/pgp-mime';
import type { ForwardSetting, User } from '../../../src/store/types';
import { makeTestDeps, type TestDeps } from '../../helpers/deps';
import { GpgHome, type TestKey } from '../../helpers/gpg';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** Forwarding on, directly to loopback, quick retries, and no periodic scan during a test. */
export const TEST_FORWARD: DeepPartial<KzymyConfig['forward']> = {
  enabled: true,
  proxy: '',
  allowPrivateHosts: true,
  retryMinSeconds: 1,
  retryMaxSeconds: 1,
  scanIntervalSeconds: 3600,
  timeoutSeconds: 10,
};

export class ForwardFixture {
  private constructor(
    readonly deps: TestDeps,
    readonly gpg: GpgHome,
    readonly key: TestKey,
    readonly armored: string,
  ) {}

  static async start(settings: DeepPartial<KzymyConfig> = {}): Promise<ForwardFixture> {
    const deps = await makeTestDeps({
      ...settings,
      forward: { ...TEST_FORWARD, ...(settings.forward ?? {}) },
    });
    const gpg = await GpgHome.create();
    const key = await gpg.generateKey('curve25519');
    const armored = (await gpg.exportPublic(key.fingerprint)).toString('utf8');
    return new ForwardFixture(deps, gpg, key, armored);
  }

  /**
   * Another set of deps on the same store (the sqlite file under the same data directory, or the
   * same mongodb database) and Redis prefix: a second daemon.
   */
  async secondDaemon(): Promise<TestDeps> {
    const config = this.deps.config;
    return makeTestDeps({
      dataDir: config.dataDir,
      store: { engine: config.store.engine },
      forward: { ...config.forward },
      mongodb: { database: config.mongodb.database },
      redis: { prefix: config.redis.prefix },
    });
  }

  /**
   * The lines of a config file (YAML) that point another process — the `kzymy` CLI — at this
   * fixture's store: its data directory (where the sqlite file is) and engine, and on mongodb
   * the database.
   */
  storeYaml(): string[] {
    const config = this.deps.config;
    return [
      `dataDir: ${config.dataDir}`,
      'store:',
      `  engine: ${config.store.engine}`,
      ...(config.store.engine === 'mongodb'
        ? ['mongodb:', `  url: '${config.mongodb.url}'`, `  database: ${config.mongodb.database}`]
        : []),
    ];
  }

  /** An active user; with `forward`, her destination is already active. */
  async addUser(forward?: { address: string; host: string | null }): Promise<User> {
    const store = this.deps.store;
    const user = await store.users.create({
      fingerprint: this.key.fingerprint.toLowerCase(),
      publicKey: this.armored,
      passwordHash: 'unused',
      state: 'active',
    });
    if (!forward) return user;
    const setting: ForwardSetting = {
      ...forward,
      state: 'active',
      codeHash: null,
      codeExpiresAt: null,
      failure: null,
    };
    await store.users.setForward(user.id, setting);
    return { ...user, forward: setting };
  }

  /** Stores `count` messages for the user, encrypted as on arrival; returns their ciphertexts. */
  async deposit(user: User, count: number, size = 0): Promise<Buffer[]> {
    const domain = this.deps.config.domain;
    const out: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const tag = randomBytes(6).toString('hex');
      const raw = Buffer.from(
        `From: sender@example.org\r\nSubject: message ${tag}\r\n\r\nbody ${tag}\r\n${'x'.repeat(size)}\r\n`,
      );
      const ciphertext = await encryptToPgpMime({
        raw,
        publicKeyArmored: user.publicKey,
        envelopeFrom: 'sender@example.org',
        recipients: [`someone@${user.username}.${domain}`],
        arrival: new Date(),
        domain,
        outerTo: `${user.username}@${user.username}.${domain}`,
        format: user.payloadFormat,
      });
      await this.deps.store.messages.add(user.id, ciphertext, new Date());
      out.push(ciphertext);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.gpg.dispose();
    await this.deps.close();
  }
}

/** Polls `check` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A v3-shaped onion name (56 base32 characters) for the onion stand-in proxy. */
export function onionName(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return `${[...randomBytes(56)].map((b) => alphabet[b % 32]).join('')}.onion`;
}
