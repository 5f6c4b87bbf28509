/**
 * The POP3 listeners: one with STLS (pop3.port, RFC 2595) and one with implicit TLS
 * (pop3.tlsPort, RFC 8314), both on pop3.host. On a loopback listener (the Tor onion service
 * case) USER/PASS work before TLS; elsewhere only with pop3.allowPlaintextAuth.
 */
import { AuthLimiter } from '../auth/limiter';
import type { DaemonDeps } from '../daemon-deps';
import type { RunningServer } from '../util/running-server';
import { errorKind } from '../log/logger';
import { isLoopbackHost, listen } from '../mailbox-access/listen';
import { KzymyPop3Server } from './engine';
import { installHandlers, pop3Hooks, type Pop3Context } from './handlers';

export interface Pop3Servers {
  plain: RunningServer;
  tls: RunningServer;
}

export async function startPop3Servers(deps: DaemonDeps): Promise<Pop3Servers> {
  const config = deps.config.pop3;
  const ctx: Pop3Context = {
    deps,
    limiter: new AuthLimiter({
      redis: deps.redis,
      prefix: deps.config.redis.prefix,
      maxFailures: deps.config.auth.maxFailures,
      lockSeconds: deps.config.auth.lockSeconds,
      clock: () => deps.clock(),
    }),
    onError: (error, where) => deps.logger.error('pop3.error', { where, kind: errorKind(error) }),
  };
  const plaintextAuth = isLoopbackHost(config.host) || config.allowPlaintextAuth;

  const build = (secure: boolean): KzymyPop3Server => {
    const server = new KzymyPop3Server({
      secure,
      key: deps.tls.key,
      cert: deps.tls.cert,
      hooks: pop3Hooks(ctx, plaintextAuth),
    });
    installHandlers(server, ctx);
    // Connection errors the engine re-emits; without a listener they would crash the process.
    // They are the client's doing (a reset, a bad TLS handshake): logged below our own errors.
    server.on('error', (error: unknown) =>
      deps.logger.info('pop3.error', { where: 'connection', kind: errorKind(error) }),
    );
    return server;
  };

  const started: RunningServer[] = [];
  try {
    started.push(await start(deps, build(false), config.host, config.port, 'pop3'));
    started.push(await start(deps, build(true), config.host, config.tlsPort, 'pop3s'));
  } catch (error) {
    await Promise.all(started.map((server) => server.close()));
    throw error;
  }
  const [plain, tls] = started as [RunningServer, RunningServer];
  return { plain, tls };
}

async function start(
  deps: DaemonDeps,
  server: KzymyPop3Server,
  host: string,
  port: number,
  service: string,
): Promise<RunningServer> {
  const bound = await listen(server.server, host, port, () => server.listen(port, host));
  deps.logger.info('service.ready', { service, port: bound });
  let closing: Promise<void> | undefined;
  return {
    port: bound,
    close: () => (closing ??= new Promise<void>((resolve) => server.close(() => resolve()))),
  };
}
