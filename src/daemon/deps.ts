/**
 * What every server in the kzymy daemon is built from. Passed in, never read at import time
 * (STYLE.md §4), so tests build the same servers against the test FerretDB and Redis.
 */
import type { Redis } from 'ioredis';
import type { KzymyConfig } from '../config/schema';
import type { NewMailSubscriber, NewMailPublisher } from '../events/new-mail';
import type { Logger } from '../log/logger';
import type { KzymyMetrics } from '../metrics/registry';
import type { TlsMaterial } from '../services/tls';
import type { Store } from '../store/store';

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

/** A started listener: its bound port (useful when configured as 0) and a clean stop. */
export interface RunningServer {
  port: number;
  close(): Promise<void>;
}
