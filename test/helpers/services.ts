/** Access to the services the root hooks started, with a fresh database per caller. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { StoreEngineName } from '../../src/config/schema';
import type { Store } from '../../src/store/store';
import type { User } from '../../src/store/types';

export function testMongoUrl(): string {
  const url = process.env.KZYMY_TEST_MONGODB_URL;
  if (!url) throw new Error('test services are not running (mocha root hooks not loaded?)');
  return url;
}

export function testRedisUrl(): string {
  const url = process.env.KZYMY_TEST_REDIS_URL;
  if (!url) throw new Error('test services are not running (mocha root hooks not loaded?)');
  return url;
}

/** The data directory of this test run (FerretDB's and every test's SQLite files live under it). */
export function testDataDir(): string {
  const dir = process.env.KZYMY_TEST_DATA_DIR;
  if (!dir) throw new Error('test services are not running (mocha root hooks not loaded?)');
  return dir;
}

/**
 * The store engine of tests that are not about one engine: sqlite, the default, unless
 * KZYMY_TEST_STORE=mongodb runs them on the run's FerretDB. (The store's own tests run on both,
 * test/helpers/engines.ts.)
 */
export function testEngine(): StoreEngineName {
  const chosen = process.env.KZYMY_TEST_STORE ?? 'sqlite';
  if (chosen !== 'sqlite' && chosen !== 'mongodb')
    throw new Error(`KZYMY_TEST_STORE must be sqlite or mongodb, not ${chosen}`);
  return chosen;
}

/** A database name no other test uses, so tests never see each other's documents. */
export function uniqueDatabaseName(prefix = 't'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** A fresh SQLite store file under the run's data directory. */
export function uniqueSqliteFile(prefix = 'sqlite'): string {
  return join(mkdtempSync(join(testDataDir(), `${prefix}-`)), 'kzymy.sqlite');
}

/**
 * A user for store tests that need a mailbox, not a real key: `publicKey` is only compared,
 * never parsed, by src/store.
 */
export function createTestUser(
  store: Store,
  fields: { username?: string; publicKey?: string; state?: 'active' | 'pending' } = {},
): Promise<User> {
  return store.users.create({
    ...(fields.username === undefined ? {} : { username: fields.username }),
    fingerprint: randomBytes(20).toString('hex'),
    publicKey: fields.publicKey ?? 'pk',
    passwordHash: 'h',
    state: fields.state ?? 'active',
  });
}
