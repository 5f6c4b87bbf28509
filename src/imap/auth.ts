/**
 * LOGIN (RFC 3501 §6.2.3) and AUTHENTICATE PLAIN (RFC 4616, with RFC 4959 SASL-IR): the engine
 * parses both and enforces "TLS first" on listeners that require it; this checks the login.
 * Every failure gets the engine's one answer, NO [AUTHENTICATIONFAILED] Invalid credentials.
 */
import type { IMAPServer } from '@zone-eu/wildduck/imap-core';
import { checkLogin } from '../mailbox/login';
import { settle } from '../mailbox/settle';
import type { ImapContext } from './session';

/** A store or Redis outage: the client should retry later, not think its password is wrong. */
function unavailable(): Error & { response: string; code: string } {
  return Object.assign(new Error('Temporary failure, try again later'), {
    response: 'NO',
    code: 'UNAVAILABLE',
  });
}

export function installAuth(server: IMAPServer, ctx: ImapContext): void {
  server.onAuth = (login, session, callback) => {
    const state = ctx.sessions.get(session);
    settle(
      async () => {
        const user = await checkLogin(ctx.deps, 'imap', login.username, login.password);
        if (!user) return undefined;
        state.user = { id: user.id, username: user.username };
        ctx.deps.logger.info('imap.login', { tls: state.connection?.secure ?? false });
        return { user: { id: user.id, username: user.username } };
      },
      (outcome) => (outcome.ok ? callback(null, outcome.value) : callback(unavailable())),
      (error) => ctx.onError(error, 'auth'),
    );
  };
}
