/**
 * Commands a receive-only mailbox refuses, each with a reply from src/imap/replies.ts that says
 * why. Mail reaches kzymy only by SMTP, there is only INBOX, and nothing is ever copied.
 * Installed in place of the engine's handlers by src/imap/engine.ts.
 */
import type { CommandCallback, IMAPConnection, ImapCommand } from '@zone-eu/wildduck/imap-core';
import { engineReply, IMAP_REPLIES, type CommandReply } from './replies';

export type Refusal = (
  connection: IMAPConnection,
  command: ImapCommand,
  callback: CommandCallback,
) => void;

function refuse(reply: CommandReply): Refusal {
  return (_connection, _command, callback) => callback(null, engineReply(reply));
}

export function receiveOnlyRefusals(): Record<
  'append' | 'mailboxes' | 'copy' | 'subscribe' | 'unavailable' | 'enable',
  Refusal
> {
  return {
    append: refuse(IMAP_REPLIES.appendRefused),
    mailboxes: refuse(IMAP_REPLIES.onlyInbox),
    copy: refuse(IMAP_REPLIES.copyRefused),
    // Some clients subscribe to INBOX on first use; that is a harmless no-op.
    subscribe: (_connection, command, callback) => {
      const path = String(command.attributes[0]?.value ?? '').toUpperCase();
      callback(
        null,
        engineReply(path === 'INBOX' ? IMAP_REPLIES.alwaysSubscribed : IMAP_REPLIES.noSuchMailbox),
      );
    },
    unavailable: refuse(IMAP_REPLIES.notAvailable),
    enable: (connection, _command, callback) => {
      connection.send('* ENABLED');
      callback(null, engineReply(IMAP_REPLIES.nothingToEnable));
    },
  };
}
