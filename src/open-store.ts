/**
 * Opens the store a process is configured for. On `sqlite` that is the file under dataDir, and
 * nothing else is needed; on `mongodb`, the database in use (mongodb.url, or the embedded
 * FerretDB's), with the Redis-backed parts that engine needs to keep its guarantees across
 * processes: the stored-bytes cache for the quota, and for processes that store mail the
 * per-user UID lock (src/store/mongodb/messages.ts).
 */
import type { Redis } from './redis/connection';
import type { KzymyConfig } from './config/schema';
import { redisUsageCache } from './redis/usage-cache';
import { redisUserLock } from './redis/user-lock';
import { sqliteStoreFile } from './embedded/paths';
import { openStore } from './store/open';
import type { Store } from './store/store';

export interface StoreWiring {
  /** The MongoDB URL in use: mongodb.url, or the embedded FerretDB's. Unused on sqlite. */
  mongoUrl?: string;
  /** The process's Redis (mongodb only): the quota cache, and the UID lock for `stores`. */
  redis?: Redis;
  /** Whether this process stores mail (the SMTP side): it then takes the shared UID lock. */
  stores?: boolean;
  clock?: () => Date;
  /** mongodb: how long an operation waits for the server before it fails (SMTP answers 4xx). */
  serverSelectionTimeoutMs?: number;
}

export function openConfiguredStore(
  config: Readonly<KzymyConfig>,
  wiring: StoreWiring = {},
): Promise<Store> {
  if (config.store.engine === 'sqlite') {
    return openStore({
      engine: 'sqlite',
      file: sqliteStoreFile(config.dataDir),
      maintenanceSeconds: config.store.sqlite.maintenanceSeconds,
      ...(wiring.clock ? { clock: wiring.clock } : {}),
    });
  }
  const url = wiring.mongoUrl || config.mongodb.url;
  if (!url) throw new Error('store.engine is mongodb, but no MongoDB URL is known');
  const { redis } = wiring;
  return openStore({
    engine: 'mongodb',
    url,
    database: config.mongodb.database,
    ...(wiring.clock ? { clock: wiring.clock } : {}),
    ...(wiring.serverSelectionTimeoutMs
      ? { serverSelectionTimeoutMs: wiring.serverSelectionTimeoutMs }
      : {}),
    ...(redis ? { usage: redisUsageCache(redis, config.redis.prefix) } : {}),
    ...(redis && wiring.stores ? { userLock: redisUserLock(redis, config.redis.prefix) } : {}),
  });
}
