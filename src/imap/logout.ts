/**
 * How an IMAP session ends. LOGOUT (RFC 3501 §6.1.3) is the commit point of delete-after-fetch:
 * every message this session received whole is deleted before the BYE. Any other end — the
 * client drops, times out, or the server shuts down — deletes nothing; what was received keeps
 * its fetchedAt and the sweeper removes it after the grace period (docs/fetching.md).
 */
import type { IMAPServer, ImapSession } from '@zone-eu/wildduck/imap-core';
import { commitReceived } from '../delete-after-fetch/commit';
import type { ImapContext } from './session';

export function logoutCommit(ctx: ImapContext): (session: ImapSession) => Promise<void> {
  return async (session) => {
    const state = ctx.sessions.get(session);
    state.loggedOut = true;
    if (!state.user) return;
    const received = state.ledger.completed();
    if (received.length === 0) return;
    await commitReceived(ctx.deps, 'imap', state.user.id, received);
    ctx.wake(state.user.id, session);
  };
}

export function installLifecycle(server: IMAPServer, ctx: ImapContext): void {
  server.onConnect = (session, callback) => {
    const state = ctx.sessions.get(session);
    for (const connection of server.connections) {
      if (connection.session === session) state.connection = connection;
    }
    callback(null);
  };

  server.onClose = (session, callback) => {
    // Stops any response still being written; nothing is committed here.
    const state = ctx.sessions.forget(session);
    state?.closed.abort();
    ctx.deps.logger.debug('imap.session_closed', {
      logout: state?.loggedOut ?? false,
      received: state?.ledger.completed().length ?? 0,
    });
    callback();
  };
}
