/**
 * The admin listener: `/healthz` and `/metrics` on their own port (config `admin`, loopback by
 * default), apart from every listener a user reaches. It serves no page, takes no input and logs
 * no requester: a scrape tells nothing about users, and the listener tells users nothing either.
 *
 *   GET /healthz   200 {"status":"ok","store":"ok","redis":"ok"}, or 503 naming what failed
 *   GET /metrics   200, Prometheus text format 0.0.4
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunningServer } from '../util/running-server';
import { errorKind, type Logger } from '../log/logger';
import type { MetricsSource } from './child-metrics';

export interface AdminDeps {
  config: Readonly<{ admin: Readonly<{ host: string; port: number }> }>;
  /** The MongoDB store (Store#ping). */
  store: { ping(): Promise<unknown> };
  /** A Redis command connection (ioredis#ping). */
  redis: { ping(): Promise<unknown> };
  logger: Logger;
}

export interface AdminOptions {
  /** Overrides config.admin.port (0 picks a free port, as tests do). */
  port?: number;
  /** How long each health probe may take before it counts as failed. */
  probeTimeoutMs?: number;
}

type Verdict = 'ok' | 'fail' | 'timeout';

interface Health {
  status: 'ok' | 'fail';
  store: Verdict;
  redis: Verdict;
}

const HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

export async function startAdminServer(
  deps: AdminDeps,
  metrics: MetricsSource,
  options: AdminOptions = {},
): Promise<RunningServer> {
  const probeTimeoutMs = options.probeTimeoutMs ?? 2000;
  // Concurrent /healthz requests share one probe, so a burst of them costs the database one ping.
  let inFlight: Promise<Health> | undefined;
  const health = (): Promise<Health> => {
    inFlight ??= checkHealth(deps, probeTimeoutMs).finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  const server = createServer((request, response) => {
    handle(request, response, health, metrics, deps.logger).catch(() => {
      if (!response.headersSent) reply(response, 500, 'text/plain; charset=utf-8', 'error\n');
      else response.destroy();
    });
  });
  // Nothing legitimate here is slow: a scrape is one short request.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;

  const host = deps.config.admin.host;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? deps.config.admin.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  deps.logger.info('service.ready', { service: 'admin', host, port });

  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  health: () => Promise<Health>,
  metrics: MetricsSource,
  logger: Logger,
): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  if (path !== '/healthz' && path !== '/metrics') {
    reply(response, 404, 'text/plain; charset=utf-8', 'not found\n');
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    reply(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    return;
  }
  const head = request.method === 'HEAD';
  if (path === '/healthz') {
    const result = await health();
    if (result.store !== 'ok')
      logger.warn('store.error', { where: 'healthz', result: result.store });
    if (result.redis !== 'ok')
      logger.warn('redis.error', { where: 'healthz', result: result.redis });
    const body = JSON.stringify(result) + '\n';
    reply(response, result.status === 'ok' ? 200 : 503, 'application/json', head ? '' : body);
    return;
  }
  let text: string;
  try {
    text = await metrics.metrics();
  } catch (error) {
    logger.error('service.exit', { service: 'admin', where: 'metrics', error: errorKind(error) });
    reply(response, 500, 'text/plain; charset=utf-8', 'metrics unavailable\n');
    return;
  }
  reply(response, 200, metrics.contentType, head ? '' : text);
}

async function checkHealth(deps: AdminDeps, timeoutMs: number): Promise<Health> {
  const [store, redis] = await Promise.all([
    probe(() => deps.store.ping(), timeoutMs),
    probe(() => deps.redis.ping(), timeoutMs),
  ]);
  return { status: store === 'ok' && redis === 'ok' ? 'ok' : 'fail', store, redis };
}

async function probe(task: () => Promise<unknown>, timeoutMs: number): Promise<Verdict> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Verdict>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    return await Promise.race([
      Promise.resolve()
        .then(task)
        .then(
          (): Verdict => 'ok',
          (): Verdict => 'fail',
        ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function reply(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { ...HEADERS, 'content-type': type });
  response.end(body);
}
