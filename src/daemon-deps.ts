/**
 * What every server in the kzymy daemon is built from. Passed in, never read at import time
 * (docs/architecture.md, "Conventions"), so tests build the same servers against the test FerretDB and Redis.
 */
import type { Redis } from './redis/connection';
import type { KzymyConfig } from './config/schema';
import type { NewMailSubscriber, NewMailPublisher } from './redis/new-mail';
import type { Logger } from './log/logger';
import type { KzymyMetrics } from './metrics/registry';
import type { TlsMaterial } from './tls/material';
import type { Store } from './store/store';

export interface DaemonDeps {
  config: Readonly<KzymyConfig>;
  store: Store;
  /** Commands: counters, locks, single-use tokens, publishing. */
  redis: Redis;
  publisher: NewMailPublisher;
  subscriber: NewMailSubscriber;
  logger: Logger;
  /** Counters and histograms with closed label sets; never a per-user label. */
  metrics: KzymyMetrics;
  clock: () => Date;
  tls: TlsMaterial;
}
