/**
 * LOGIN (RFC 3501 §6.2.3) and AUTHENTICATE PLAIN (RFC 4616, with RFC 4959 SASL-IR): the engine
 * parses both and enforces "TLS first" on listeners that require it; this checks the login.
 * Every failure gets the engine's one answer, NO [AUTHENTICATIONFAILED] Invalid credentials; a
 * store or Redis outage gets NO [UNAVAILABLE], so the client retries; the right password of a
 * disabled account gets NO [CONTACTADMIN] (both in src/imap/replies.ts).
 */
import type { IMAPServer } from '@zone-eu/wildduck/imap-core';
import { checkLogin } from '../mailbox-access/login';
import { settle } from '../mailbox-access/settle';
import { ticketOf } from './limits';
import { engineError, IMAP_REPLIES } from './replies';
import type { ImapContext } from './session';

export function installAuth(server: IMAPServer, ctx: ImapContext): void {
  server.onAuth = (login, session, callback) => {
    const state = ctx.sessions.get(session);
    settle(
      async () => {
        const outcome = await checkLogin(ctx.deps, 'imap', login.username, login.password);
        if (outcome.kind === 'disabled') return 'disabled' as const;
        if (outcome.kind === 'failed') return undefined;
        const user = outcome.user;
        const ticket = ticketOf(state.connection);
        if (ticket && !ticket.login(user.id)) return 'limit' as const;
        state.user = { id: user.id, username: user.username };
        ctx.deps.logger.info('imap.login', { tls: state.connection?.secure ?? false });
        return { user: { id: user.id, username: user.username } };
      },
      (outcome) => {
        if (!outcome.ok) callback(engineError(IMAP_REPLIES.unavailable));
        else if (outcome.value === 'disabled') callback(engineError(IMAP_REPLIES.accountDisabled));
        else if (outcome.value === 'limit') callback(engineError(IMAP_REPLIES.tooManySessions));
        else callback(null, outcome.value);
      },
      (error) => ctx.onError(error, 'auth'),
    );
  };
}
