/**
 * A guard around imap-core's notification listener (imap-connection.js, @zone-eu/wildduck
 * 1.46.15). When a wake-up arrives while the connection is still asking the notifier for the
 * previous one's changes, the engine marks it pending and, once the answer is in, re-checks in a
 * setImmediate that reads `this._listenerData.callback` only when it runs. A LOGOUT or a closed
 * socket in between clears the listener by setting `_listenerData` to false, and the TypeError
 * thrown from that timer took the whole daemon down (seen with 50 senders and IMAP sessions
 * fetching and logging out at once). Here a cleared listener stays an object, marked cleared as
 * the engine checks, whose callback does nothing.
 */
import type { IMAPConnection } from '@zone-eu/wildduck/imap-core';

export function guardNotificationListener(connection: IMAPConnection): void {
  const clear = connection.clearNotificationListener.bind(connection);
  connection.clearNotificationListener = () => {
    clear();
    if (connection._listenerData === false)
      connection._listenerData = { cleared: true, callback: () => undefined };
  };
}
