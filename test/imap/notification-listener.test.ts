/**
 * The engine's notification listener, guarded (src/imap/notification-listener.ts): a wake-up
 * that arrives while the previous one's changes are still being asked for is re-checked by the
 * engine in a setImmediate; a LOGOUT that clears the listener before it runs used to throw a
 * TypeError from that timer and end the process (it did, under 50 senders and IMAP sessions
 * logging out: `smtp: concurrent deliveries to one mailbox queue`). Here the window is opened on
 * purpose, with imap-core's own connection and kzymy's notifier.
 */
import { Socket } from 'node:net';
import { expect } from 'chai';
import type { ImapUpdate } from '@zone-eu/wildduck/imap-core';
import { IMAPConnection as EngineConnection } from '@zone-eu/wildduck/imap-core/lib/imap-connection';
import { AuthLimiter } from '../../src/auth/limiter';
import { KzymyImapServer } from '../../src/imap/engine';
import { ImapNotifier } from '../../src/imap/idle';
import { guardNotificationListener } from '../../src/imap/notification-listener';
import { SessionTable, type ImapContext } from '../../src/imap/session';
import { createAccount } from '../helpers/clients';
import { makeTestDeps, type TestDeps } from '../helpers/deps';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('IMAP: the notification listener', () => {
  let deps: TestDeps;

  before(async () => {
    deps = await makeTestDeps();
  });
  after(async () => {
    await deps?.close();
  });

  it('a LOGOUT between the answer to a wake-up and the re-check of a missed one throws nothing', async () => {
    const errors: unknown[] = [];
    const ctx: ImapContext = {
      deps,
      limiter: new AuthLimiter({
        redis: deps.redis,
        prefix: deps.config.redis.prefix,
        maxFailures: 5,
        lockSeconds: 60,
        clock: () => new Date(),
      }),
      sessions: new SessionTable(),
      wake: () => undefined,
      onError: (error) => errors.push(error),
    };
    const notifier = new ImapNotifier(ctx);
    const server = new KzymyImapServer({
      secure: false,
      key: deps.tls.key,
      cert: deps.tls.cert,
      hooks: { plaintextAuth: true, beforeLogout: async () => undefined, onError: () => undefined },
    });
    server.notifier = notifier;
    const connection = new EngineConnection(server, new Socket(), { id: 'n1' });
    guardNotificationListener(connection);
    const account = await createAccount(deps);
    connection.session.user = { id: account.user.id, username: account.user.username };
    connection.selected = {
      mailbox: 'INBOX',
      uidList: [],
      notifications: [],
      modifyIndex: 0,
      readOnly: false,
      condstoreEnabled: false,
      path: 'INBOX',
    };

    // The notifier answers; right after the engine has read the answer (and scheduled its
    // re-check of the wake-up that came meanwhile), the session logs out, as LOGOUT does.
    const getUpdates = notifier.getUpdates.bind(notifier);
    let answered = false;
    notifier.getUpdates = (mailbox, index, callback) =>
      getUpdates(mailbox, index, (error: Error | null, updates?: ImapUpdate[]) => {
        callback(error, updates);
        connection.clearNotificationListener();
        answered = true;
      });
    connection.setupNotificationListener();
    const listener = connection._listenerData;
    if (!listener) throw new Error('no listener set up');
    listener.callback(); // asks the notifier
    listener.callback(); // arrives while it asks: marked to be re-checked
    while (!answered) await nextTurn();
    await nextTurn();
    await nextTurn();
    expect(connection._listenerData).to.include({ cleared: true });
    expect(errors).to.deep.equal([]);
  });
});
