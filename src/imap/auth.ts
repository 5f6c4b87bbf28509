/**
 * LOGIN (RFC 3501 §6.2.3) and AUTHENTICATE PLAIN (RFC 4616, with RFC 4959 SASL-IR): the engine
 * parses both and enforces "TLS first" on listeners that require it; this checks the login.
 * Every failure gets the engine's one answer, NO [AUTHENTICATIONFAILED] Invalid credentials.
 */
import type { IMAPServer } from '@zone-eu/wildduck/imap-core';
import { checkLogin, DISABLED_TEXT } from '../mailbox/login';
import { settle } from '../mailbox/settle';
import type { ImapContext } from './session';

/** A store or Redis outage: the client should retry later, not think its password is wrong. */
function unavailable(): Error & { response: string; code: string } {
  return Object.assign(new Error('Temporary failure, try again later'), {
    response: 'NO',
    code: 'UNAVAILABLE',
  });
}

/**
 * RFC 5530 §3 CONTACTADMIN: "the user should contact the system administrator". The code is
 * part of the text: the engine prints an error's code after LOGIN but not after AUTHENTICATE.
 */
function disabled(): Error & { response: string } {
  return Object.assign(new Error(`[CONTACTADMIN] ${DISABLED_TEXT}`), { response: 'NO' });
}

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
        if (!outcome.ok) return callback(unavailable());
        if (outcome.value === 'disabled') return callback(disabled());
        return callback(null, outcome.value);
      },
      (error) => ctx.onError(error, 'auth'),
    );
  };
}
