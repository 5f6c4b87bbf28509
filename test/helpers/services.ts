/** Access to the services the root hooks started, with a fresh database per caller. */
import { randomBytes } from 'node:crypto';
import { Store } from '../../src/store/store';

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
