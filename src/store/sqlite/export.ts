/**
 * Reading a sqlite store out, for `kzymy store copy` (src/store/copy.ts): users, each one's
 * messages, and each message's ciphertext as it is stored — chunk by chunk, never decrypted,
 * never held whole. A read-only connection beside whatever else has the file open.
 */
import type { StoredMessage, User } from '../types';
import { parseId, toMessage, toUser, type MessageRow, type UserRow } from './rows';
import { openConnection, type Connection } from './schema';

export class SqliteExport {
  private constructor(private readonly db: Connection) {}

  static open(file: string): SqliteExport {
    return new SqliteExport(openConnection(file, { busyTimeoutMs: 5000, create: false }));
  }

  users(): User[] {
    return (this.db.prepare('SELECT * FROM users ORDER BY username').all() as UserRow[]).map(
      toUser,
    );
  }

  /** The user and her messages as one snapshot (one read transaction), or null if she is gone. */
  mailbox(userId: string): { user: User; messages: StoredMessage[] } | null {
    const id = parseId(userId);
    if (!id) return null;
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT * FROM users WHERE id = ?').get(id) as
        | UserRow
        | undefined;
      if (!row) return null;
      const messages = this.db
        .prepare('SELECT * FROM messages WHERE user_id = ? ORDER BY uid')
        .all(id) as MessageRow[];
      return { user: toUser(row), messages: messages.map(toMessage) };
    })();
  }

  /**
   * The ciphertext of a message, chunk by chunk in order; throws if a chunk is missing (the
   * message was deleted while it was being copied).
   */
  *ciphertext(message: StoredMessage): Iterable<Buffer> {
    const id = parseId(message.id);
    if (!id) throw new Error('not a message id');
    const read = this.db.prepare('SELECT data FROM chunks WHERE message_id = ? AND n = ?');
    let bytes = 0;
    for (let n = 0; bytes < message.size || n === 0; n++) {
      const row = read.get(id, n) as { data: Buffer } | undefined;
      if (!row) throw new MessageVanishedError('the message was deleted while it was copied');
      bytes += row.data.length;
      yield row.data;
    }
    if (bytes !== message.size) throw new Error('the stored chunks do not add up to the size');
  }

  close(): void {
    this.db.close();
  }
}

export class MessageVanishedError extends Error {
  override name = 'MessageVanishedError';
}
