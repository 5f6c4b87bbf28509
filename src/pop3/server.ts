/**
 * The POP3 listeners: one with STLS (pop3.port, RFC 2595) and one with implicit TLS
 * (pop3.tlsPort, RFC 8314), both on pop3.host. On a loopback listener (the Tor onion service
 * case) USER/PASS work before TLS; elsewhere only with pop3.allowPlaintextAuth.
 */
import type { DaemonDeps } from '../daemon-deps';
import type { RunningServer } from '../util/running-server';
import { errorKind } from '../log/logger';
import { mailboxListenerLimits } from '../connection-limits/mailbox-listeners';
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
    onError: (error, where) => deps.logger.error('pop3.error', { where, kind: errorKind(error) }),
  };
  const plaintextAuth = isLoopbackHost(config.host) || config.allowPlaintextAuth;
  // One gate per listener, one session count per user for both (src/connection-limits).
  const listenerLimits = mailboxListenerLimits('pop3', deps);

  const build = (secure: boolean): KzymyPop3Server => {
    const server = new KzymyPop3Server({
      secure,
      key: deps.tls.key,
      cert: deps.tls.cert,
      limits: listenerLimits(secure ? 'pop3s' : 'pop3'),
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
  const unwatch = deps.metrics.watchSessions('pop3', () => server.connections.size);
  let closing: Promise<void> | undefined;
  return {
    port: bound,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        unwatch();
        server.close(() => resolve());
      })),
  };
}
