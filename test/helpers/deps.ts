/**
 * Builds real DaemonDeps for a test: the store engine of the run (testEngine(): a fresh SQLite
 * file under the test's own data directory, or a fresh database on the run's FerretDB), the
 * run's Redis (a fresh key prefix), a logger whose lines are kept for canary checks, and the dev
 * TLS pair. `store: { engine }` in the settings picks an engine for one test.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load';
import type { KzymyConfig } from '../../src/config/schema';
import type { DaemonDeps } from '../../src/daemon-deps';
import { NewMailPublisher, NewMailSubscriber } from '../../src/redis/new-mail';
import { connectRedis } from '../../src/redis/connection';
import { createLogger } from '../../src/log/logger';
import { createMetrics } from '../../src/metrics/registry';
import { loadTls } from '../../src/tls/material';
import { openConfiguredStore } from '../../src/open-store';
import {
  testDataDir,
  testEngine,
  testMongoUrl,
  testRedisUrl,
  uniqueDatabaseName,
} from './services';

export interface TestDeps extends DaemonDeps {
  /** Every log line written through `logger`. */
  logLines: string[];
  close(): Promise<void>;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** `settings` is a partial config document, validated like the real file (so typos fail loudly). */
export async function makeTestDeps(settings: DeepPartial<KzymyConfig> = {}): Promise<TestDeps> {
  const database = uniqueDatabaseName();
  const prefix = `kzymy-${randomBytes(4).toString('hex')}:`;
  const dataDir = mkdtempSync(join(testDataDir(), 'deps-'));
  const engine = settings.store?.engine ?? testEngine();
  const document = {
    dataDir,
    ...settings,
    store: { ...(settings.store ?? {}), engine },
    mongodb: {
      ...(engine === 'mongodb' ? { url: testMongoUrl() } : {}),
      database,
      ...(settings.mongodb ?? {}),
    },
    redis: { url: testRedisUrl(), prefix, ...(settings.redis ?? {}) },
  };
  const result = validateConfig(document);
  if (!result.ok) throw new Error(`test config invalid: ${result.problems.join('; ')}`);
  const config = result.config;
  const redis = await connectRedis(config.redis.url);
  // As createDaemonDeps (on mongodb, deletions move the stored-bytes total the SMTP side checks).
  const store = await openConfiguredStore(config, { redis });
  const subscriber = await NewMailSubscriber.connect(config.redis.url, config.redis.prefix);
  const logLines: string[] = [];
  const logger = createLogger({
    component: 'test',
    level: 'debug',
    sink: (line) => logLines.push(line),
  });
  // The TLS pair is shared by the whole run: generating RSA keys per test is slow.
  const tls = await loadTls({ key: '', cert: '', dataDir: testDataDir(), domain: config.domain });
  return {
    config,
    store,
    redis,
    publisher: new NewMailPublisher(redis, config.redis.prefix),
    subscriber,
    logger,
    // No process metrics: several deps in one test process would register them twice.
    metrics: createMetrics({ processMetrics: false }),
    clock: () => new Date(),
    tls,
    logLines,
    async close() {
      await subscriber.close();
      redis.disconnect();
      await store.close();
    },
  };
}

/**
 * The lines of a config file that point another process (the kzymy CLI, doctor) at the store
 * and Redis of these deps: their data directory (where the sqlite file is) or their MongoDB
 * database, and their Redis with its key prefix.
 */
export function sharedStoreConfigLines(deps: TestDeps): string[] {
  const { config } = deps;
  return [
    `dataDir: ${config.dataDir}`,
    ...(config.store.engine === 'mongodb'
      ? ['mongodb:', `  url: '${config.mongodb.url}'`, `  database: ${config.mongodb.database}`]
      : []),
    'redis:',
    `  url: '${config.redis.url}'`,
    `  prefix: '${config.redis.prefix}'`,
  ];
}
