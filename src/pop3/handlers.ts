/**
 * kzymy's POP3 handlers (RFC 1939, RFC 5034 AUTH PLAIN): login, the maildrop listing, message
 * content, and the two delete-after-fetch writes. The engine calls them with callbacks; each
 * goes through `settle`, so nothing thrown here reaches it.
 */
import type { Socket } from 'node:net';
import type POP3Connection from '@zone-eu/wildduck/lib/pop3/connection';
import type { DaemonDeps } from '../daemon-deps';
import { commitReceived, markReceived } from '../delete-after-fetch/commit';
import { MessageReader } from '../mailbox-access/content';
import { checkLogin } from '../mailbox-access/login';
import { settle } from '../mailbox-access/settle';
import type { KzymyPop3Connection, KzymyPop3Server } from './engine';
import { POP3_REPLIES } from './replies';

type Pop3Session = POP3Connection.Pop3Session;
type ListedMessage = POP3Connection.ListedMessage;

export interface Pop3Context {
  deps: DaemonDeps;
  onError(error: unknown, where: string): void;
}

function userOf(session: Pop3Session): { id: string; username: string } {
  const user = session.user;
  if (!user || typeof user === 'string') throw new Error('no user in session');
  return user;
}

export function installHandlers(server: KzymyPop3Server, ctx: Pop3Context): void {
  server.onAuth = (auth, _session, callback) => {
    settle(
      () => checkLogin(ctx.deps, 'pop3', auth.username, auth.password),
      (outcome) => {
        if (!outcome.ok) {
          // The engine answers "-ERR [AUTH] <text>" and keeps the connection.
          callback(Object.assign(new Error(POP3_REPLIES.unavailable.text), { response: 'NO' }));
        } else if (outcome.value.kind === 'failed') {
          callback(null, { message: POP3_REPLIES.loginFailed.text });
        } else if (outcome.value.kind === 'disabled') {
          callback(null, { message: POP3_REPLIES.accountDisabled.text });
        } else {
          const user = outcome.value.user;
          ctx.deps.logger.info('pop3.login', {});
          callback(null, { user: { id: user.id, username: user.username } });
        }
      },
      (error) => ctx.onError(error, 'auth'),
    );
  };

  server.onListMessages = (session, callback) => {
    settle(
      async () => {
        const user = userOf(session);
        const account = await ctx.deps.store.users.byId(user.id);
        if (!account) throw new Error('account is gone');
        const messages = await ctx.deps.store.messages.list(user.id);
        return {
          messages: messages.map(
            (message): ListedMessage => ({
              id: message.id,
              uid: message.uid,
              size: message.size,
              // RFC 1939 §7: unique within the maildrop and never reused; UIDVALIDITY makes it
              // unique across a recreated account too.
              uidl: `${account.uidValidity}.${message.uid}`,
              seen: true,
            }),
          ),
          count: messages.length,
          size: messages.reduce((sum, message) => sum + message.size, 0),
        };
      },
      (outcome) => (outcome.ok ? callback(null, outcome.value) : callback(outcome.error)),
      (error) => ctx.onError(error, 'list'),
    );
  };

  server.onFetchMessage = (message, session, callback) => {
    settle(
      async () => {
        const user = userOf(session);
        // Gone since the listing (the sweeper, another session's QUIT): say so before "+OK".
        if (!(await ctx.deps.store.messages.exists(user.id, message.id))) {
          throw new Error('message no longer exists');
        }
        return new MessageReader(ctx.deps.store.messages, user.id, message, 0, message.size);
      },
      (outcome) => (outcome.ok ? callback(null, outcome.value) : callback(outcome.error)),
      (error) => ctx.onError(error, 'retr'),
    );
  };
}

export function pop3Hooks(ctx: Pop3Context, plaintextAuth: boolean): KzymyPop3Server['kzymy'] {
  return {
    plaintextAuth,
    async received(connection: KzymyPop3Connection, message: ListedMessage) {
      const session = connection.session;
      if (!session) return;
      if (!(await flushed(connection.currentSocket()))) {
        // The bytes did not leave: the client has not got the message.
        message.fetched = false;
        return;
      }
      connection.received += 1;
      await markReceived(ctx.deps, userOf(session).id, [message.id]);
    },
    async commit(session, messages) {
      return commitReceived(
        ctx.deps,
        'pop3',
        userOf(session).id,
        messages.map((message) => message.id),
      );
    },
    closed(connection) {
      ctx.deps.logger.debug('pop3.session_closed', {
        quit: connection.quitCommitted,
        received: connection.received,
      });
    },
    onError: (error) => ctx.onError(error, 'engine'),
  };
}

/** Resolves true once everything written to the socket so far has gone to the OS. */
function flushed(socket: Socket): Promise<boolean> {
  if (socket.destroyed || !socket.writable) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onClose = (): void => resolve(false);
    socket.once('close', onClose);
    socket.write(Buffer.alloc(0), (error) => {
      socket.off('close', onClose);
      resolve(!error);
    });
  });
}
