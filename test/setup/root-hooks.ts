/**
 * Mocha root hooks: one FerretDB and one redis-server for the whole run, on free loopback ports
 * in a temporary data directory — unless MONGODB_URL / REDIS_URL point at servers already.
 * Tests find them through test/helpers/services.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFerretDb, startRedis, type RunningService } from '../../src/embedded/services';

const started: RunningService[] = [];
let dataDir: string | undefined;

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    dataDir = mkdtempSync(join(tmpdir(), 'kzymy-test-'));
    process.env.KZYMY_TEST_DATA_DIR = dataDir;
    if (!process.env.MONGODB_URL) {
      const ferret = await startFerretDb({ dataDir, port: 0 });
      started.push(ferret);
      process.env.KZYMY_TEST_MONGODB_URL = ferret.url;
    } else {
      process.env.KZYMY_TEST_MONGODB_URL = process.env.MONGODB_URL;
    }
    if (!process.env.REDIS_URL) {
      const redis = await startRedis({ dataDir, port: 0 });
      started.push(redis);
      process.env.KZYMY_TEST_REDIS_URL = redis.url;
    } else {
      process.env.KZYMY_TEST_REDIS_URL = process.env.REDIS_URL;
    }
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(30_000);
    await Promise.all(started.map((service) => service.stop()));
    if (dataDir && !process.env.KZYMY_KEEP_TEST_DATA)
      rmSync(dataDir, { recursive: true, force: true });
  },
};
