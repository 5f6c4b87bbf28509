/**
 * The embedded FerretDB and Redis for targets that drive a server with its real store, the same
 * services the test suite runs on (test/setup/root-hooks.ts). Under mocha the root hooks have
 * started them already; the fuzz runner starts its own in a temporary directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFerretDb, startRedis, type RunningService } from '../../src/services/embedded';
import { makeTestDeps, type TestDeps } from '../../test/helpers/deps';

type Settings = Parameters<typeof makeTestDeps>[0];

export interface FuzzServices {
  /** Real DaemonDeps (a fresh database and key prefix per call), closed by close(). */
  deps(settings?: Settings): Promise<TestDeps>;
  close(): Promise<void>;
}

/** Deps on services that are already running (the test run's, or startEmbedded's). */
export function servicesFromEnvironment(): FuzzServices {
  const opened: TestDeps[] = [];
  return {
    async deps(settings) {
      const deps = await makeTestDeps(settings);
      opened.push(deps);
      return deps;
    },
    async close() {
      await Promise.all(opened.splice(0).map((deps) => deps.close()));
    },
  };
}

/** Starts FerretDB and Redis on free loopback ports, as the test suite's root hooks do. */
export async function startEmbedded(): Promise<FuzzServices> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kzymy-fuzz-'));
  const started: RunningService[] = [];
  try {
    process.env.KZYMY_TEST_DATA_DIR = dataDir;
    const ferret = await startFerretDb({ dataDir, port: 0 });
    started.push(ferret);
    process.env.KZYMY_TEST_MONGODB_URL = ferret.url;
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
