/**
 * The IMAP listeners: one with STARTTLS (imap.port) and one with implicit TLS (imap.tlsPort,
 * RFC 8314), both on imap.host. On a loopback listener (the Tor onion service case) LOGIN works
 * before TLS; elsewhere only with imap.allowPlaintextAuth.
 */
import type { DaemonDeps } from '../daemon-deps';
import type { RunningServer } from '../util/running-server';
import { errorKind } from '../log/logger';
import { mailboxListenerLimits } from '../connection-limits/mailbox-listeners';
import { isLoopbackHost, listen } from '../mailbox-access/listen';
import { installAuth } from './auth';
import { KzymyImapServer } from './engine';
import { installFetch } from './fetch-command';
import { ImapNotifier } from './idle';
import { installLifecycle, logoutCommit } from './logout';
import { installSelect } from './select';
import { SessionTable, type ImapContext } from './session';
import { installStoreExpungeSearch } from './flags-expunge-search';

export interface ImapServers {
  plain: RunningServer;
  tls: RunningServer;
}

export async function startImapServers(deps: DaemonDeps): Promise<ImapServers> {
  const config = deps.config.imap;
  const ctx: ImapContext = {
    deps,
    sessions: new SessionTable(),
    // Runs only once connections exist, long after `notifier` below is set.
    wake: (userId, except) => notifier.wake(userId, except),
    onError: (error, where) => deps.logger.error('imap.error', { where, kind: errorKind(error) }),
  };
  const notifier = new ImapNotifier(ctx);
  const unfollow = notifier.follow(deps.subscriber);
  const plaintextAuth = isLoopbackHost(config.host) || config.allowPlaintextAuth;
  // One gate per listener, one session count per user for both (src/connection-limits).
  const listenerLimits = mailboxListenerLimits('imap', deps);

  const build = (secure: boolean): KzymyImapServer => {
    const server = new KzymyImapServer({
      secure,
      key: deps.tls.key,
      cert: deps.tls.cert,
      limits: listenerLimits(secure ? 'imaps' : 'imap'),
      hooks: {
        plaintextAuth,
        beforeLogout: logoutCommit(ctx),
        onError: (error) => ctx.onError(error, 'engine'),
        // The client's arguments, answered BAD: logged below our own errors.
        onBadArguments: (error) =>
          deps.logger.info('imap.error', { where: 'arguments', kind: errorKind(error) }),
      },
    });
    server.notifier = notifier;
    installLifecycle(server, ctx);
    installAuth(server, ctx);
    installSelect(server, ctx);
    installFetch(server, ctx);
    installStoreExpungeSearch(server, ctx);
    // Connection errors the engine re-emits; without a listener they would crash the process.
    // They are the client's doing (a reset, a bad TLS handshake): logged below our own errors.
    server.on('error', (error: unknown) =>
      deps.logger.info('imap.error', { where: 'connection', kind: errorKind(error) }),
    );
    return server;
  };

  const plain = build(false);
  const tls = build(true);
  const running: RunningServer[] = [];
  try {
    running.push(await start(deps, plain, config.host, config.port, false));
    running.push(await start(deps, tls, config.host, config.tlsPort, true));
  } catch (error) {
    await Promise.all(running.map((server) => server.close()));
    unfollow();
    throw error;
  }
  let open = 2;
  const closeOne = (server: RunningServer) => async () => {
    await server.close();
    if (--open === 0) unfollow();
  };
  const [plainServer, tlsServer] = running as [RunningServer, RunningServer];
  return {
    plain: { port: plainServer.port, close: closeOne(plainServer) },
    tls: { port: tlsServer.port, close: closeOne(tlsServer) },
  };
}

async function start(
  deps: DaemonDeps,
  server: KzymyImapServer,
  host: string,
  port: number,
  secure: boolean,
): Promise<RunningServer> {
  const bound = await listen(server.server, host, port, () => server.listen(port, host));
  deps.logger.info('service.ready', { service: secure ? 'imaps' : 'imap', port: bound });
  const unwatch = deps.metrics.watchSessions('imap', () => server.connections.size);
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
