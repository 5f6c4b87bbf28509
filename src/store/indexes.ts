/**
 * Every index kzymy relies on, declared in one place and applied at startup. Only plain and
 * unique indexes: FerretDB 1.x serves them, and expiry is the sweeper's job, not a TTL index.
 */
import type { Db, IndexDescription } from 'mongodb';

export const COLLECTIONS = {
  users: 'users',
  messages: 'messages',
  chunks: 'chunks',
} as const;

const INDEXES: Record<keyof typeof COLLECTIONS, IndexDescription[]> = {
  users: [
    { key: { username: 1 }, name: 'username_unique', unique: true },
    { key: { state: 1, createdAt: 1 }, name: 'state_created' },
  ],
  messages: [
    { key: { user: 1, uid: 1 }, name: 'user_uid_unique', unique: true },
    { key: { arrivedAt: 1 }, name: 'arrived' },
    { key: { fetchedAt: 1 }, name: 'fetched' },
  ],
  chunks: [
    { key: { message: 1, n: 1 }, name: 'message_n_unique', unique: true },
    { key: { user: 1 }, name: 'user' },
  ],
};

export async function applyIndexes(db: Db): Promise<void> {
  for (const [collection, indexes] of Object.entries(INDEXES)) {
    await db.collection(collection).createIndexes(indexes);
  }
}
