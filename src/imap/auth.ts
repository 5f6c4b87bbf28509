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
        state.user = { id: user.id, username: user.username };
        ctx.deps.logger.info('imap.login', { tls: state.connection?.secure ?? false });
        return { user: { id: user.id, username: user.username } };
      },
      (outcome) => {
        if (!outcome.ok) return callback(engineError(IMAP_REPLIES.unavailable));
        if (outcome.value === 'disabled')
          return callback(engineError(IMAP_REPLIES.accountDisabled));
        return callback(null, outcome.value);
      },
      (error) => ctx.onError(error, 'auth'),
    );
  };
}
