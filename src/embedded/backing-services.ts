/**
 * The servers a process needs besides itself: Redis (the configured URL or a private
 * redis-server under the data directory) and, for the `mongodb` store engine only, MongoDB (the
 * configured URL or the embedded FerretDB). The default `sqlite` engine is a file the process
 * opens itself: no server, no Go toolchain. An embedded server already running (started by
 * `npm start`) is reused rather than started twice on the same files.
 */
import type { KzymyConfig } from '../config/schema';
import type { Logger } from '../log/logger';
import type { EmbeddedService } from '../metrics/registry';
import { startFerretDb, startRedis, type RunningService } from './services';
import { resolveDataDir } from './paths';
import { Supervisor } from './supervisor';
import { waitForPort } from '../util/ports';

export interface BackingServices {
  /** The MongoDB in use on the mongodb engine; '' on sqlite. */
  mongoUrl: string;
  redisUrl: string;
  /** Stops what this call started (nothing, when URLs were configured or servers were running). */
  stop(): Promise<void>;
  /** Calls `listener` each time a supervised embedded service is restarted (for the metric). */
  onRestart?(listener: (service: EmbeddedService) => void): void;
}

/** A long-running process keeps what it started alive (src/embedded/supervisor.ts). */
export interface SuperviseOptions {
  logger: Logger;
  /** A service could not be kept up: the process should exit non-zero. */
  onGiveUp(service: EmbeddedService): void;
}

const HOST = '127.0.0.1';

type Stoppable = Pick<RunningService, 'stop'>;

export async function ensureBackingServices(
  config: Readonly<KzymyConfig>,
  needs: { redis: boolean } = { redis: true },
  supervise?: SuperviseOptions,
): Promise<BackingServices> {
  const dataDir = resolveDataDir(config.dataDir);
  const started: Stoppable[] = [];
  const restartListeners: Array<(service: EmbeddedService) => void> = [];
  // The embedded service as started, under a supervisor when the caller runs for long.
  const run = async (
    name: EmbeddedService,
    start: (port: number) => Promise<RunningService>,
    port: number,
  ): Promise<{ url: string }> => {
    const first = await start(port);
    if (!supervise) {
      started.push(first);
      return first;
    }
    supervise.logger.info('service.ready', { service: name, port: first.port, pid: first.pid });
    const supervisor = new Supervisor(first, {
      name,
      start,
      logger: supervise.logger,
      onGiveUp: supervise.onGiveUp,
      onRestart: (service) => restartListeners.forEach((listener) => listener(service)),
    });
    started.push(supervisor);
    return supervisor;
  };
  try {
    let mongoUrl = config.mongodb.url;
    if (!mongoUrl && config.store.engine === 'mongodb') {
      const port = config.mongodb.embeddedPort;
      if (port !== 0 && (await answers(port))) mongoUrl = `mongodb://${HOST}:${port}/`;
      else {
        const ferret = await run('ferretdb', (at) => startFerretDb({ dataDir, port: at }), port);
        mongoUrl = ferret.url;
      }
    }
    let redisUrl = config.redis.url;
    if (!redisUrl && needs.redis) {
      const port = config.redis.embeddedPort;
      if (port !== 0 && (await answers(port))) redisUrl = `redis://${HOST}:${port}/0`;
      else {
        const redis = await run('redis', (at) => startRedis({ dataDir, port: at }), port);
        redisUrl = redis.url;
      }
    }
    return {
      mongoUrl,
      redisUrl,
      stop: async () => {
        await Promise.all(started.map((service) => service.stop()));
      },
      onRestart: (listener) => restartListeners.push(listener),
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
