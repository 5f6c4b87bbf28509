/**
 * The servers a process needs besides itself: Redis (the configured URL or a private
 * redis-server under the data directory) and, for the `mongodb` store engine only, MongoDB (the
 * configured URL or the embedded FerretDB). The default `sqlite` engine is a file the process
 * opens itself: no server, no Go toolchain. An embedded server already running (started by
 * `npm start`) is reused rather than started twice on the same files.
 */
import type { KzymyConfig } from '../config/schema';
import { startFerretDb, startRedis, type RunningService } from './services';
import { resolveDataDir } from './paths';
import { waitForPort } from '../util/ports';

export interface BackingServices {
  /** The MongoDB in use on the mongodb engine; '' on sqlite. */
  mongoUrl: string;
  redisUrl: string;
  /** Stops what this call started (nothing, when URLs were configured or servers were running). */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

export async function ensureBackingServices(
  config: Readonly<KzymyConfig>,
  needs: { redis: boolean } = { redis: true },
): Promise<BackingServices> {
  const dataDir = resolveDataDir(config.dataDir);
  const started: RunningService[] = [];
  try {
    let mongoUrl = config.mongodb.url;
    if (!mongoUrl && config.store.engine === 'mongodb') {
      const port = config.mongodb.embeddedPort;
      if (port !== 0 && (await answers(port))) mongoUrl = `mongodb://${HOST}:${port}/`;
      else {
        const ferret = await startFerretDb({ dataDir, port });
        started.push(ferret);
        mongoUrl = ferret.url;
      }
    }
    let redisUrl = config.redis.url;
    if (!redisUrl && needs.redis) {
      const port = config.redis.embeddedPort;
      if (port !== 0 && (await answers(port))) redisUrl = `redis://${HOST}:${port}/0`;
      else {
        const redis = await startRedis({ dataDir, port });
        started.push(redis);
        redisUrl = redis.url;
      }
    }
    return {
      mongoUrl,
      redisUrl,
      stop: async () => {
        await Promise.all(started.map((service) => service.stop()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((service) => service.stop()));
    throw error;
  }
}

async function answers(port: number): Promise<boolean> {
  return waitForPort(HOST, port, 0).then(
    () => true,
    () => false,
  );
}
