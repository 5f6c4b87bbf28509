/** Access to the services the root hooks started, with a fresh database per caller. */
import { randomBytes } from 'node:crypto';
import { Store } from '../../src/store/store';
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

/** The data directory of this test run (FerretDB's SQLite files live under it). */
export function testDataDir(): string {
  const dir = process.env.KZYMY_TEST_DATA_DIR;
  if (!dir) throw new Error('test services are not running (mocha root hooks not loaded?)');
  return dir;
}

/** A database name no other test uses, so tests never see each other's documents. */
export function uniqueDatabaseName(prefix = 't'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

export async function openTestStore(database = uniqueDatabaseName()): Promise<Store> {
  return Store.open({ url: testMongoUrl(), database });
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
