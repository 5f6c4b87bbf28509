/**
 * Keeps an embedded service (the private redis-server, the embedded FerretDB: whatever a process
 * started itself) running. When it dies it is started again on the same port, after a short and
 * growing pause, so every client of it (ioredis and the MongoDB driver, here and in the Haraka
 * child, reconnect by themselves) finds it where it was, with no operator action; deliveries are
 * answered 4xx meanwhile and the senders retry (docs/operations/deploy.md, "Self-healing").
 *
 * If it cannot be kept up — it fails to start, or dies again soon after each start, `maxFailures`
 * times in a row — the supervisor gives up and says so, and the process exits non-zero, so that
 * systemd or the container runtime restarts the whole of it: better than running on, answering
 * every delivery 451 forever while looking alive to a supervisor that only watches exits.
 */
import { errorKind, type Logger } from '../log/logger';
import type { EmbeddedService } from '../metrics/registry';
import type { RunningService, ServiceExit } from './services';

export interface SupervisorOptions {
  name: EmbeddedService;
  /** Starts the service on `port` (the port it had, so its URL stays valid). */
  start(port: number): Promise<RunningService>;
  logger: Logger;
  /** It died and was started again. */
  onRestart?(name: EmbeddedService): void;
  /** It could not be kept up: the process should exit non-zero. */
  onGiveUp(name: EmbeddedService): void;
  /** The first pause before a restart; each failure in a row doubles it. Default 250 ms. */
  initialDelayMs?: number;
  /** The longest pause. Default 5 s. */
  maxDelayMs?: number;
  /** Failures in a row before giving up. Default 5 (about 8 s of pauses). */
  maxFailures?: number;
  /** A service that dies within this long of starting counts as a failed start. Default 10 s. */
  stableMs?: number;
}

export class Supervisor {
  private current: RunningService;
  private startedAt = Date.now();
  private stopping = false;
  private failures = 0;
  private restarting: Promise<void> | undefined;

  constructor(
    first: RunningService,
    private readonly options: SupervisorOptions,
  ) {
    this.current = first;
    this.watch(first);
  }

  get url(): string {
    return this.current.url;
  }

  get port(): number {
    return this.current.port;
  }

  get pid(): number {
    return this.current.pid;
  }

  /** Stops supervising and stops the service. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.restarting?.catch(() => undefined);
    await this.current.stop();
  }

  private watch(service: RunningService): void {
    void service.exited.then((exit) => {
      if (this.stopping || service !== this.current) return;
      this.restarting = this.restart(exit);
    });
  }

  private async restart(exit: ServiceExit): Promise<void> {
    const { name, logger } = this.options;
    logger.error('service.exit', { service: name, code: exit.code, signal: exit.signal });
    // A death soon after a start means the start did not really succeed.
    if (Date.now() - this.startedAt < (this.options.stableMs ?? 10_000)) this.failures += 1;
    else this.failures = 0;
    for (;;) {
      if (this.failures >= (this.options.maxFailures ?? 5)) {
        logger.error('service.gave_up', { service: name, failures: this.failures });
        this.options.onGiveUp(name);
        return;
      }
      const delay = Math.min(
        (this.options.initialDelayMs ?? 250) * 2 ** this.failures,
        this.options.maxDelayMs ?? 5000,
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (this.stopping) return;
      try {
        const service = await this.options.start(this.current.port);
        if (this.stopping) return void (await service.stop());
        this.current = service;
        this.startedAt = Date.now();
        logger.warn('service.restart', {
          service: name,
          port: service.port,
          pid: service.pid,
          attempt: this.failures + 1,
        });
        this.options.onRestart?.(name);
        this.watch(service);
        return;
      } catch (error) {
        this.failures += 1;
        logger.error('service.exit', {
          service: name,
          where: 'restart',
          error: errorKind(error),
        });
      }
    }
  }
}
