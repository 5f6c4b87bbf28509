/**
 * The backing services of a benchmark: a private FerretDB and redis-server in a temporary data
 * directory (exactly as `npm start` runs them when no MONGODB_URL / REDIS_URL is given), a
 * config pointing at them, users with real GnuPG keys, and one cleanup for all of it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from '../src/redis/connection';
import { connectRedis } from '../src/redis/connection';
import { redisUsageCache } from '../src/redis/usage-cache';
import { hashPassword } from '../src/auth/password';
import { validateConfig } from '../src/config/load';
import type { KzymyConfig } from '../src/config/schema';
import { createLogger, type Logger } from '../src/log/logger';
import { startFerretDb, startRedis, type RunningService } from '../src/embedded/services';
import { loadTls, type TlsMaterial } from '../src/tls/material';
import { MongoStore } from '../src/store/mongodb/store';
import type { Store } from '../src/store/store';
import type { User } from '../src/store/types';
import { GpgHome } from '../test/helpers/gpg';

export const BENCH_DOMAIN = 'kzymy.test';
const BENCH_REDIS_PREFIX = 'kzymy-bench:';

export interface BenchUser {
  user: User;
  password: string;
  /** An address that reaches this user. */
  address: string;
}

export interface BenchEnv {
  dataDir: string;
  mongoUrl: string;
  redisUrl: string;
  tls: TlsMaterial;
  logger: Logger;
  store: Store;
  gpg: GpgHome;
  /** A validated config for a component of its own, with its own data directory. */
  config(name: string, settings?: Record<string, unknown>): Readonly<KzymyConfig>;
  /** `count` active users sharing one Curve25519 key (keys are per user in production). */
  createUsers(count: number): Promise<BenchUser[]>;
  close(): Promise<void>;
}

export async function startBenchEnv(database = 'bench'): Promise<BenchEnv> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kzymy-bench-'));
  const services: RunningService[] = [];
  const redisClients: Redis[] = [];
  let gpg: GpgHome | undefined;
  let store: Store | undefined;
  try {
    const ferret = await startFerretDb({ dataDir, port: 0 });
    services.push(ferret);
    const redis = await startRedis({ dataDir, port: 0 });
    services.push(redis);
    const tls = await loadTls({ key: '', cert: '', dataDir, domain: BENCH_DOMAIN });
    // Like every kzymy process, the benchmark's own store moves the quota's cached totals.
    const redisClient = await connectRedis(redis.url);
    redisClients.push(redisClient);
    store = await MongoStore.open({
      url: ferret.url,
      database,
      usage: redisUsageCache(redisClient, BENCH_REDIS_PREFIX),
    });
    gpg = await GpgHome.create();
    const key = await gpg.generateKey('curve25519');
    const armored = (await gpg.exportPublic(key.fingerprint)).toString('utf8');
    const logger = createLogger({ component: 'bench', level: 'warn' });
    const openStore = store;
    const home = gpg;
    let users = 0;
    return {
      dataDir,
      mongoUrl: ferret.url,
      redisUrl: redis.url,
      tls,
      logger,
      store: openStore,
      gpg: home,
      config(name, settings = {}) {
        const result = validateConfig({
          domain: BENCH_DOMAIN,
          dataDir: join(dataDir, name),
          log: { level: 'warn' },
          ...settings,
          mongodb: { url: ferret.url, database },
          redis: { url: redis.url, prefix: BENCH_REDIS_PREFIX },
          tls: { key: tls.keyFile, cert: tls.certFile },
        });
        if (!result.ok) throw new Error(`bench config invalid: ${result.problems.join('; ')}`);
        return result.config;
      },
      async createUsers(count) {
        const created: BenchUser[] = [];
        for (let i = 0; i < count; i++) {
          const password = `bench-password-${users}`;
          const user = await openStore.users.create({
            fingerprint: key.fingerprint.toLowerCase(),
            publicKey: armored,
            passwordHash: await hashPassword(password),
            state: 'active',
            username: `bench${users}`,
          });
          users++;
          created.push({ user, password, address: `inbox@${user.username}.${BENCH_DOMAIN}` });
        }
        return created;
      },
      async close() {
        await openStore.close().catch(() => undefined);
        for (const client of redisClients) client.disconnect();
        await home.dispose().catch(() => undefined);
        await Promise.all(services.map((s) => s.stop()));
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await store?.close().catch(() => undefined);
    for (const client of redisClients) client.disconnect();
    await gpg?.dispose().catch(() => undefined);
    await Promise.all(services.map((s) => s.stop()));
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}
