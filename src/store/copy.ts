/**
 * `kzymy store copy`: moves a sqlite store to MongoDB, for an operator who outgrows one machine
 * (docs/operations/deploy.md). Users and the mail still waiting go over under the ids they have —
 * the same UIDVALIDITY and UIDs, so clients notice nothing — and the ciphertext as it is stored:
 * nothing is decrypted, nothing is held whole.
 *
 * Idempotent and resumable: run again, it copies what is missing, brings what changed up to date
 * (a user's key, password, address policy or sending switches, a message's flags) and removes
 * from the destination the messages the source no longer holds (fetched and deleted meanwhile)
 * and the users an earlier run copied that the source no longer has (accounts deleted
 * meanwhile), so a last run after kzymy has stopped leaves the destination equal to the source.
 * Users of the destination that no run of the copy wrote are never touched. Interrupted, it
 * leaves no partial message visible there: a message's metadata is written after its ciphertext.
 */
import { MongoImport } from './mongodb/import';
import { MessageVanishedError, SqliteExport } from './sqlite/export';

export interface CopyProgress {
  /** The user's name (for a user removed: her id, the source no longer knows her name). */
  username: string;
  /** What happened to the user, then to one message of hers. */
  event: 'user' | 'message';
  outcome: 'copied' | 'updated' | 'removed' | 'vanished';
}

export interface CopyReport {
  users: { copied: number; updated: number; removed: number };
  messages: { copied: number; updated: number; removed: number; vanished: number };
}

export async function copySqliteToMongo(options: {
  file: string;
  url: string;
  database: string;
  progress?: (event: CopyProgress) => void;
}): Promise<CopyReport> {
  const report: CopyReport = {
    users: { copied: 0, updated: 0, removed: 0 },
    messages: { copied: 0, updated: 0, removed: 0, vanished: 0 },
  };
  const source = SqliteExport.open(options.file);
  try {
    const target = await MongoImport.open(options.url, options.database);
    try {
      const listedUsers = source.users();
      const inSource = new Set(listedUsers.map((user) => user.id));
      for (const listed of listedUsers) {
        const mailbox = source.mailbox(listed.id);
        if (!mailbox) continue; // deleted meanwhile
        const { user, messages } = mailbox;
        const tell = (event: CopyProgress['event'], outcome: CopyProgress['outcome']): void =>
          options.progress?.({ username: user.username, event, outcome });
        const userOutcome = await target.putUser(user);
        report.users[userOutcome] += 1;
        tell('user', userOutcome);

        const there = await target.messageIds(user.id);
        for (const message of messages) {
          if (there.delete(message.id)) {
            await target.updateMessage(message);
            report.messages.updated += 1;
            tell('message', 'updated');
            continue;
          }
          try {
            await target.putMessage(message, source.ciphertext(message));
          } catch (error) {
            if (!(error instanceof MessageVanishedError)) throw error;
            report.messages.vanished += 1;
            tell('message', 'vanished');
            continue;
          }
          report.messages.copied += 1;
          tell('message', 'copied');
        }
        // What is left was copied by an earlier run and is gone from the source since.
        await target.removeMessages(user.id, [...there]);
        for (let i = 0; i < there.size; i++) tell('message', 'removed');
        report.messages.removed += there.size;
      }
      // Accounts an earlier run copied and the source has deleted since.
      for (const userId of await target.copiedUserIds()) {
        if (inSource.has(userId)) continue;
        await target.removeUser(userId);
        report.users.removed += 1;
        options.progress?.({ username: userId, event: 'user', outcome: 'removed' });
      }
    } finally {
      await target.close();
    }
  } finally {
    source.close();
  }
  return report;
}
