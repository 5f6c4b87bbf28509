/**
 * What the targets that drive a server with its real store run on: the default store engine,
 * SQLite (a fresh file per call, src/store/sqlite/ with its writer thread), and the embedded
 * Redis — the same engine and Redis as a one-machine kzymy. Under mocha the root hooks have
 * started Redis (and a FerretDB, unused here) already; the fuzz runner starts its own Redis in a
 * temporary directory, where the SQLite files go as well.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoreEngineName } from '../../src/config/schema';
import { startRedis, type RunningService } from '../../src/embedded/services';
import { makeTestDeps, type TestDeps } from '../../test/helpers/deps';

type Settings = Parameters<typeof makeTestDeps>[0];

/**
 * The store engine of every server target, whatever KZYMY_TEST_STORE says for the rest of a
 * test run: the default engine, the one most servers run (docs/fuzzing.md).
 */
export const FUZZ_STORE_ENGINE: StoreEngineName = 'sqlite';

export interface FuzzServices {
  /** Real DaemonDeps (a fresh SQLite file and Redis key prefix per call), closed by close(). */
  deps(settings?: Settings): Promise<TestDeps>;
  close(): Promise<void>;
}

/** Deps on services that are already running (the test run's, or startEmbedded's). */
export function servicesFromEnvironment(): FuzzServices {
  const opened: TestDeps[] = [];
  return {
    async deps(settings = {}) {
      const deps = await makeTestDeps({
        ...settings,
        store: { ...settings.store, engine: FUZZ_STORE_ENGINE },
      });
      opened.push(deps);
      return deps;
    },
    async close() {
      await Promise.all(opened.splice(0).map((deps) => deps.close()));
    },
  };
}

/** Starts Redis on a free loopback port in a temporary data directory (for the SQLite files too). */
export async function startEmbedded(): Promise<FuzzServices> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kzymy-fuzz-'));
  const started: RunningService[] = [];
  try {
    process.env.KZYMY_TEST_DATA_DIR = dataDir;
    const redis = await startRedis({ dataDir, port: 0 });
    started.push(redis);
    process.env.KZYMY_TEST_REDIS_URL = redis.url;
  } catch (error) {
    await Promise.all(started.map((service) => service.stop()));
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const inner = servicesFromEnvironment();
  return {
    deps: inner.deps,
    async close() {
      await inner.close();
      await Promise.all(started.map((service) => service.stop()));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
