/**
 * What the kzymy plugin holds inside the Haraka process: its settings, a logger and the
 * connections to the store and Redis. Connections are opened on first use, not at plugin load:
 * Haraka loads plugins in a cluster master too, and SMTP must come up (answering 4xx) even when
 * the database is down. A failed open is retried on the next use.
 */
import type { Redis } from '../../redis/connection';
import { NewMailPublisher } from '../../redis/new-mail';
import { connectRedis } from '../../redis/connection';
import { createLogger, errorKind, type Logger } from '../../log/logger';
import { answerMetricsRequests } from '../../metrics/child-metrics';
import { createMetrics, type KzymyMetrics } from '../../metrics/registry';
import type { Decision } from '../decision';
import { createSenderCheck, type SenderCheck } from '../sender-auth';
import { openConfiguredStore } from '../../open-store';
import type { Store } from '../../store/store';
import type { SmtpSettings } from './settings';

export interface SmtpDeps {
  store: Store;
  redis: Redis;
  publisher: NewMailPublisher;
}

export class SmtpRuntime {
  readonly logger: Logger;
  /** Counted here, served by the parent's admin listener over the IPC channel it gave Haraka. */
  readonly metrics: KzymyMetrics = createMetrics();
  /** SPF/DKIM/DMARC/ARC at arrival, unless switched off (smtp.senderAuth.enabled). */
  readonly senderCheck: SenderCheck | undefined;
  private opening: Promise<SmtpDeps> | undefined;
  private closed = false;

  constructor(
    readonly settings: SmtpSettings,
    readonly clock: () => Date = () => new Date(),
    logger?: Logger,
  ) {
    this.logger = logger ?? createLogger({ component: 'smtp', level: settings.config.log.level });
    const { senderAuth } = settings.config.smtp;
    this.senderCheck = senderAuth.enabled
      ? createSenderCheck(senderAuth, settings.config.domain)
      : undefined;
    if (process.send) answerMetricsRequests(this.metrics.registry);
  }

  /** Counts a refusal by its closed-set reason and hands the decision on. */
  count(decision: Decision): Decision {
    if (decision.kind !== 'accept') this.metrics.messageRefused(decision.metric);
    return decision;
  }

  deps(): Promise<SmtpDeps> {
    if (this.closed) return Promise.reject(new Error('SMTP runtime closed'));
    if (!this.opening) {
      const opening = this.open();
      this.opening = opening;
      opening.catch((error: unknown) => {
        if (this.opening === opening) this.opening = undefined;
        this.logger.warn('store.error', { where: 'smtp.open', error: errorKind(error) });
      });
    }
    return this.opening;
  }

  async close(): Promise<void> {
    this.closed = true;
    const opening = this.opening;
    this.opening = undefined;
    const deps = await opening?.catch(() => undefined);
    if (!deps) return;
    deps.redis.disconnect();
    await deps.store.close().catch(() => undefined);
  }

  private async open(): Promise<SmtpDeps> {
    const { config, storeTimeoutMs } = this.settings;
    // Redis first: on mongodb the store orders UIDs per user with a lock every SMTP node shares.
    const redis = await connectRedis(config.redis.url);
    let store: Store;
    try {
      store = await openConfiguredStore(config, {
        redis,
        stores: true,
        clock: this.clock,
        serverSelectionTimeoutMs: storeTimeoutMs,
      });
    } catch (error) {
      redis.disconnect();
      throw error;
    }
    // ioredis reconnects by itself; without a listener it would print each error to the console.
    redis.on('error', (error: unknown) =>
      this.logger.warn('redis.error', { where: 'smtp', error: errorKind(error) }),
    );
    this.logger.info('store.connected', { where: 'smtp' });
    return { store, redis, publisher: new NewMailPublisher(redis, config.redis.prefix) };
  }
}
