/** Builds the DaemonDeps of a running process from its config and backing services. */
import type { KzymyConfig } from '../config/schema';
import { NewMailPublisher, NewMailSubscriber } from '../redis/new-mail';
import { connectRedis } from '../redis/connection';
import type { Logger } from '../log/logger';
import { createMetrics } from '../metrics/registry';
import { resolveDataDir } from '../embedded/paths';
import { loadTls } from '../tls/material';
import type { BackingServices } from '../embedded/backing-services';
import type { DaemonDeps } from '../daemon-deps';
import { openConfiguredStore } from '../open-store';

export interface OwnedDeps extends DaemonDeps {
  close(): Promise<void>;
}

/** What differs between a daemon and a test that builds several deps in one process. */
export interface DepsOptions {
  /** Node's process metrics can be registered once per process (default: true). */
  processMetrics?: boolean;
  /** Where a self-signed TLS pair is kept when none is configured (default: the data dir). */
  tlsDir?: string;
}

export async function createDaemonDeps(
  config: Readonly<KzymyConfig>,
  services: Pick<BackingServices, 'mongoUrl' | 'redisUrl'>,
  logger: Logger,
  options: DepsOptions = {},
): Promise<OwnedDeps> {
  const redis = await connectRedis(services.redisUrl);
  // On mongodb, deletions here move the stored-bytes total the SMTP nodes check the quota against.
  const store = await openConfiguredStore(config, { mongoUrl: services.mongoUrl, redis }).catch(
    (error: unknown) => {
      redis.disconnect();
      throw error;
    },
  );
  // Without a listener ioredis prints connection errors to the console, with hosts in them.
  redis.on('error', () => logger.warn('redis.error', { kind: 'connection' }));
  const subscriber = await NewMailSubscriber.connect(services.redisUrl, config.redis.prefix);
  const tls = await loadTls({
    key: config.tls.key,
    cert: config.tls.cert,
    dataDir: options.tlsDir ?? resolveDataDir(config.dataDir),
    domain: config.domain,
  });
  return {
    config,
    store,
    redis,
    publisher: new NewMailPublisher(redis, config.redis.prefix),
    subscriber,
    logger,
    metrics: createMetrics({ processMetrics: options.processMetrics ?? true }),
    clock: () => new Date(),
    tls,
    async close() {
      await subscriber.close();
      redis.disconnect();
      await store.close();
    },
  };
}
