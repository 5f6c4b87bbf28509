/**
 * Every index kzymy relies on, declared in one place and applied at startup. Only plain and
 * unique indexes: FerretDB 1.x serves them, and expiry is the sweeper's job, not a TTL index.
 */
import type { Db, IndexDescription } from 'mongodb';

export const COLLECTIONS = {
  users: 'users',
  /** username → user id, keyed by the name: RCPT's lookup is then an `_id` lookup (users.ts). */
  usernames: 'usernames',
  messages: 'messages',
  chunks: 'chunks',
  uploads: 'uploads',
  /** Forwarding leases and refusals (forwards.ts): one per message in flight or refused. */
  forwards: 'forwards',
} as const;

const INDEXES: Record<keyof typeof COLLECTIONS, IndexDescription[]> = {
  users: [
    { key: { username: 1 }, name: 'username_unique', unique: true },
    { key: { state: 1, createdAt: 1 }, name: 'state_created' },
    // The forwarding worker's periodic scan for users whose mail is forwarded.
    { key: { 'forward.state': 1 }, name: 'forward_state' },
  ],
  usernames: [],
  messages: [
    { key: { user: 1, uid: 1 }, name: 'user_uid_unique', unique: true },
    { key: { arrivedAt: 1 }, name: 'arrived' },
    { key: { fetchedAt: 1 }, name: 'fetched' },
  ],
  // Led by `user` so that a hashed {user} shard key can shard chunks (MongoDB requires every
  // unique index to start with the shard key) and every chunk query goes to one shard.
  chunks: [{ key: { user: 1, message: 1, n: 1 }, name: 'user_message_n_unique', unique: true }],
  uploads: [{ key: { startedAt: 1 }, name: 'started' }],
  forwards: [{ key: { user: 1, kind: 1 }, name: 'user_kind' }],
};

/**
 * Creates the indexes that do not exist yet, by name. Re-declaring an existing compound index is
 * a no-op on MongoDB but panics the connection on FerretDB 1.24 ("slice bounds out of range"),
 * and every process applies indexes at startup, so only missing ones are sent. Processes starting
 * together on a new database can still race to create the same index; the loser's connection
 * drops, and it looks again and creates only what is still missing.
 */
export async function applyIndexes(db: Db): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      for (const [collection, indexes] of Object.entries(INDEXES)) {
        const existing = new Set(
          (
            await db
              .collection(collection)
              .listIndexes()
              .toArray()
              .catch(() => [])
          ).map((index) => index.name as string),
        );
        const missing = indexes.filter((index) => !existing.has(index.name as string));
        if (missing.length > 0) await db.collection(collection).createIndexes(missing);
      }
      return;
    } catch (error) {
      if (attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt + Math.random() * 100));
    }
  }
}
