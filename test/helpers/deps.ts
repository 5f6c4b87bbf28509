/**
 * Builds real DaemonDeps for a test through the daemon's own factory: the store engine of the run (testEngine(): a fresh SQLite
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
import { createLogger } from '../../src/log/logger';
import { createDaemonDeps } from '../../src/roles/create-deps';
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
  const logLines: string[] = [];
  const logger = createLogger({
    component: 'test',
    level: 'debug',
    sink: (line) => logLines.push(line),
  });
  // The same factory as the daemon's (src/roles/create-deps.ts), so the two cannot drift.
  const deps = await createDaemonDeps(
    config,
    { mongoUrl: config.mongodb.url, redisUrl: config.redis.url },
    logger,
    {
      // Several deps live in one test process: Node's process metrics register only once.
      processMetrics: false,
      // The TLS pair is shared by the whole run: generating RSA keys per test is slow.
      tlsDir: testDataDir(),
    },
  );
  return Object.assign(deps, { logLines });
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
