/**
 * Which listeners a role runs, started in order and stopped in reverse. Each component returns
 * its own stop function, so a failure half-way stops what had started.
 */
import type { KzymyConfig } from '../config/schema';
import type { Logger } from '../log/logger';
import type { BackingServices } from './backing-services';
import { aggregatedMetrics } from '../metrics/child-metrics';
import { startAdminServer } from '../metrics/admin-server';
import { startWebServer } from '../web/server';
import type { ChildProcess } from 'node:child_process';
import { createDaemonDeps } from './create-deps';
import type { RunningServer } from './deps';

export type Role = 'all' | 'smtp' | 'daemon';

type Stop = () => Promise<void>;

export async function startComponents(
  role: Role,
  config: Readonly<KzymyConfig>,
  services: BackingServices,
  logger: Logger,
): Promise<Stop> {
  const stops: Stop[] = [];
  const stopAll: Stop = async () => {
    for (const stop of stops.reverse()) await stop();
  };
  try {
    const deps = await createDaemonDeps(config, services, logger);
    stops.push(() => deps.close());
    const ready: Record<string, number> = {};
    if (role !== 'daemon') {
      // Haraka: wired when src/smtp lands.
    }
    const listen = async (name: string, start: () => Promise<RunningServer>): Promise<void> => {
      const server = await start();
      stops.push(() => server.close());
      ready[name] = server.port;
    };
    // Processes whose metrics the admin listener adds to this one's (Haraka, in the smtp role).
    const metricChildren: ChildProcess[] = [];
    if (role !== 'smtp') {
      if (config.web.enabled) await listen('web', () => startWebServer(deps));
    }
    // Every role has health and metrics: the container health checks ask each one.
    if (config.admin.enabled) {
      await listen('admin', () =>
        startAdminServer(
          deps,
          aggregatedMetrics(deps.metrics.registry, () => metricChildren),
        ),
      );
    }
    logger.info('service.ready', { role, ...ready });
    return stopAll;
  } catch (error) {
    await stopAll();
    throw error;
  }
}
