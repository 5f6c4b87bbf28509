/**
 * Commands a receive-only mailbox refuses, each with a text that says why (RFC 5530 response
 * codes). Mail reaches kzymy only by SMTP, there is only INBOX, and nothing is ever copied.
 * Installed in place of the engine's handlers by src/imap/engine.ts.
 */
import type { CommandCallback, IMAPConnection, ImapCommand } from '@zone-eu/wildduck/imap-core';

export type Refusal = (
  connection: IMAPConnection,
  command: ImapCommand,
  callback: CommandCallback,
) => void;

export const RECEIVE_ONLY = 'kzymy is receive-only';

function refuse(text: string, code = 'CANNOT'): Refusal {
  return (_connection, _command, callback) =>
    callback(null, { response: 'NO', code, message: text });
}

export function receiveOnlyRefusals(): Record<
  'append' | 'mailboxes' | 'copy' | 'subscribe' | 'unavailable' | 'enable',
  Refusal
> {
  return {
    append: refuse(`${RECEIVE_ONLY}: mail arrives by SMTP only, APPEND is not available`),
    mailboxes: refuse(`${RECEIVE_ONLY}: INBOX is the only mailbox`),
    copy: refuse(`${RECEIVE_ONLY}: INBOX is the only mailbox, nothing can be copied or moved`),
    // Some clients subscribe to INBOX on first use; that is a harmless no-op.
    subscribe: (_connection, command, callback) => {
      const path = String(command.attributes[0]?.value ?? '').toUpperCase();
      if (path === 'INBOX')
        callback(null, { response: 'OK', message: 'INBOX is always subscribed' });
      else
        callback(null, {
          response: 'NO',
          code: 'NONEXISTENT',
          message: 'INBOX is the only mailbox',
        });
    },
    unavailable: refuse('Not available on kzymy'),
    // RFC 5161: nothing kzymy serves needs enabling (no CONDSTORE, no UTF8=ACCEPT).
    enable: (connection, _command, callback) => {
      connection.send('* ENABLED');
      callback(null, { response: 'OK', message: 'Nothing to enable' });
    },
  };
}
