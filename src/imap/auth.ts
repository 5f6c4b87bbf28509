/**
 * LOGIN (RFC 3501 §6.2.3) and AUTHENTICATE PLAIN (RFC 4616, with RFC 4959 SASL-IR): the engine
 * parses both and enforces "TLS first" on listeners that require it; this checks the login.
 * Every failure gets the engine's one answer, NO [AUTHENTICATIONFAILED] Invalid credentials; a
 * store or Redis outage gets NO [UNAVAILABLE] (src/imap/replies.ts), so the client retries.
 */
import type { IMAPServer } from '@zone-eu/wildduck/imap-core';
import { checkLogin } from '../mailbox-access/login';
import { settle } from '../mailbox-access/settle';
import { engineError, IMAP_REPLIES } from './replies';
import type { ImapContext } from './session';

export function installAuth(server: IMAPServer, ctx: ImapContext): void {
  server.onAuth = (login, session, callback) => {
    const state = ctx.sessions.get(session);
    settle(
      async () => {
        const user = await checkLogin(
          ctx.deps,
          ctx.limiter,
          'imap',
          login.username,
          login.password,
        );
        if (!user) return undefined;
        state.user = { id: user.id, username: user.username };
        ctx.deps.logger.info('imap.login', { tls: state.connection?.secure ?? false });
        return { user: { id: user.id, username: user.username } };
      },
      (outcome) =>
        outcome.ok
          ? callback(null, outcome.value)
          : callback(engineError(IMAP_REPLIES.unavailable)),
      (error) => ctx.onError(error, 'auth'),
    );
  };
}
