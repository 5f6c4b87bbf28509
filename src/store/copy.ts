/**
 * `kzymy store copy`: moves a sqlite store to MongoDB, for an operator who outgrows one machine
 * (docs/operations/deploy.md). Users and the mail still waiting go over under the ids they have —
 * the same UIDVALIDITY and UIDs, so clients notice nothing — and the ciphertext as it is stored:
 * nothing is decrypted, nothing is held whole.
 *
 * Idempotent and resumable: run again, it copies what is missing, brings what changed up to date
 * (a user's key, password or address policy, a message's flags) and removes from the destination
 * the messages the source no longer holds (fetched and deleted meanwhile), so a last run after
 * kzymy has stopped leaves the destination equal to the source. Interrupted, it leaves no partial
 * message visible there: a message's metadata is written after its ciphertext.
 */
import { MongoImport } from './mongodb/import';
import { MessageVanishedError, SqliteExport } from './sqlite/export';

export interface CopyProgress {
  username: string;
  /** What happened to the user, then to one message of hers. */
  event: 'user' | 'message';
  outcome: 'copied' | 'updated' | 'removed' | 'vanished';
}

export interface CopyReport {
  users: { copied: number; updated: number };
  messages: { copied: number; updated: number; removed: number; vanished: number };
}

export async function copySqliteToMongo(options: {
  file: string;
  url: string;
  database: string;
  progress?: (event: CopyProgress) => void;
}): Promise<CopyReport> {
  const report: CopyReport = {
    users: { copied: 0, updated: 0 },
    messages: { copied: 0, updated: 0, removed: 0, vanished: 0 },
  };
  const source = SqliteExport.open(options.file);
  try {
    const target = await MongoImport.open(options.url, options.database);
    try {
      for (const listed of source.users()) {
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
    } finally {
      await target.close();
    }
  } finally {
    source.close();
  }
  return report;
}
