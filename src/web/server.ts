/**
 * startWebServer: the signup and account pages on web.host:web.port (0 picks a free port),
 * resolved once the socket is listening.
 */
import { readFileSync, existsSync } from 'node:fs';
import { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import type { KzymyConfig } from '../config/schema';
import type { DaemonDeps } from '../daemon-deps';
import type { RunningServer } from '../util/running-server';
import { passwordGate } from '../mailbox-access/login';
import { projectRoot } from '../util/project-root';
import { daemonForwardService } from '../forward/service';
import { createWebApp } from './app';
import { limitConnections, webServerOptions } from './connection-limit';
import type { WebContext } from './context';
import { FormTokens } from './csrf';
import type { Html } from './html';
import { renderMarkdown } from './markdown';
import { PendingCodes } from './pending';
import { ProofOfWork } from './pow';
import { loadWebKeys } from './secret';
import { SessionStore } from './session';
import { SignupLimit } from './signup-limit';
import { loadStaticAssets } from './static';

export async function buildWebContext(deps: DaemonDeps): Promise<WebContext> {
  const { config, redis, clock } = deps;
  const prefix = config.redis.prefix;
  const keys = await loadWebKeys(config);
  return {
    config,
    store: deps.store,
    redis,
    logger: deps.logger.child('web'),
    metrics: deps.metrics,
    clock,
    forms: new FormTokens(keys.form, clock),
    pow: new ProofOfWork({
      key: keys.pow,
      redis,
      prefix,
      clock,
      bits: config.web.powBits,
      ttlSeconds: config.web.powTtlSeconds,
    }),
    signups: new SignupLimit(redis, prefix, config.web.signupsPerHour, clock),
    pending: new PendingCodes(redis, prefix, config.retention.pendingSeconds),
    sessions: new SessionStore({
      redis,
      prefix,
      idleSeconds: config.web.sessionIdleSeconds,
      maxSeconds: config.web.sessionMaxSeconds,
      clock,
    }),
    passwords: passwordGate(deps),
    assets: loadStaticAssets(),
    signupDoc: loadSignupDoc(),
    secureCookie: secureCookie(config),
    forward: daemonForwardService(deps),
  };
}

export async function startWebServer(deps: DaemonDeps): Promise<RunningServer> {
  const ctx = await buildWebContext(deps);
  const app = createWebApp(ctx);
  const server = createAdaptorServer({ fetch: app.fetch, serverOptions: webServerOptions(deps) });
  if (server instanceof HttpServer) limitConnections(server, deps);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.config.web.port, deps.config.web.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  ctx.logger.info('service.ready', { service: 'web', port });
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive connections would hold close() open until they time out.
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}

function loadSignupDoc(): Html | null {
  const file = join(projectRoot(), 'docs', 'signup.md');
  return existsSync(file) ? renderMarkdown(readFileSync(file, 'utf8')) : null;
}

function secureCookie(config: Readonly<KzymyConfig>): boolean {
  if (config.web.secureCookie !== 'auto') return config.web.secureCookie === 'always';
  return !isLoopback(config.web.host);
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
