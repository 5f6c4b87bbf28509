/**
 * Which listeners a role runs, started in order and stopped in reverse. Each component returns
 * its own stop function, so a failure half-way stops what had started.
 */
import type { KzymyConfig } from '../config/schema';
import type { Logger } from '../log/logger';
import type { BackingServices } from '../embedded/backing-services';
import { aggregatedMetrics } from '../metrics/child-metrics';
import { startAdminServer } from '../metrics/admin-server';
import { registerStoreTotals } from '../metrics/totals';
import { startHaraka } from '../smtp/haraka/runner';
import { startImapServers } from '../imap/server';
import { startPop3Servers } from '../pop3/server';
import { startForwarder } from '../forward/worker';
import { startSubmissionServers } from '../submission/server';
import { startSweeper } from '../sweeper/sweeper';
import { startWebServer } from '../web/server';
import type { ChildProcess } from 'node:child_process';
import { createDaemonDeps } from './create-deps';
import type { RunningServer } from '../util/running-server';

export type Role = 'all' | 'smtp' | 'daemon';

type Stop = () => Promise<void>;

export async function startComponents(
  role: Role,
  config: Readonly<KzymyConfig>,
  services: BackingServices,
  logger: Logger,
): Promise<Stop> {
  const stops: Stop[] = [];
  let stopping = false;
  const stopAll: Stop = async () => {
    stopping = true;
    for (const stop of stops.reverse()) await stop();
  };
  try {
    const deps = await createDaemonDeps(config, services, logger);
    stops.push(() => deps.close());
    services.onRestart?.((service) => deps.metrics.serviceRestarted(service));
    const ready: Record<string, number> = {};

    const listen = async (name: string, start: () => Promise<RunningServer>): Promise<void> => {
      const server = await start();
      stops.push(() => server.close());
      ready[name] = server.port;
    };
    // Processes whose metrics the admin listener adds to this one's (Haraka, in the smtp role).
    const metricChildren: ChildProcess[] = [];
    if (role !== 'daemon' && config.smtp.enabled) {
      const haraka = await startHaraka(config, {
        mongodbUrl: services.mongoUrl,
        redisUrl: services.redisUrl,
        logger: logger.child('smtp'),
        tls: deps.tls,
      });
      stops.push(() => haraka.close());
      metricChildren.push(haraka.process);
      ready.smtp = haraka.port;
      // Haraka is the mail front door: if it dies, the process exits and its supervisor
      // (systemd, the container runtime) restarts the whole role rather than run half of it.
      void haraka.exited.then(({ code, signal }) => {
        if (stopping) return;
        logger.error('service.exit', { service: 'haraka', code, signal });
        process.exitCode = 1;
        process.kill(process.pid, 'SIGTERM');
      });
    }
    if (role !== 'smtp') {
      if (config.imap.enabled) {
        const imap = await startImapServers(deps);
        stops.push(
          () => imap.plain.close(),
          () => imap.tls.close(),
        );
        Object.assign(ready, { imap: imap.plain.port, imaps: imap.tls.port });
      }
      if (config.pop3.enabled) {
        const pop3 = await startPop3Servers(deps);
        stops.push(
          () => pop3.plain.close(),
          () => pop3.tls.close(),
        );
        Object.assign(ready, { pop3: pop3.plain.port, pop3s: pop3.tls.port });
      }
      if (config.send.enabled) {
        // Sending as the nym (docs/sending.md): opt-in, and each user opts in again.
        const submission = await startSubmissionServers(deps);
        stops.push(
          () => submission.plain.close(),
          () => submission.tls.close(),
        );
        Object.assign(ready, {
          submission: submission.plain.port,
          submissions: submission.tls.port,
        });
      }
      if (config.web.enabled) await listen('web', () => startWebServer(deps));
      // The store's totals (messages, bytes, accounts by state) for /metrics.
      registerStoreTotals(deps.metrics.registry, deps.store);
      // Every daemon sweeps; deletions count only what each call removed, so that is safe.
      const sweeper = startSweeper(deps);
      stops.push(() => sweeper.stop());
      // Push delivery, when the operator enabled it: every daemon forwards, claims decide who.
      if (config.forward.enabled) {
        const forwarder = startForwarder(deps);
        stops.push(() => forwarder.stop());
      }
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
