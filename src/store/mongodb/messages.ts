/**
 * Encrypted messages. Metadata and ciphertext live apart: `messages` holds only the metadata
 * docs/threat-model.md lists (owner, uid, arrival, size, flags, fetchedAt), and `chunks` the
 * ciphertext in pieces well under the 16 MB document limit, so a 35 MB ciphertext is stored like
 * any other.
 *
 * Write order makes a message visible only when it is whole: chunks first (announced by an upload
 * marker), then a UID, then the metadata document. A crash in between leaves a marker, and the
 * sweeper removes its chunks (removeOrphanChunks). Deletion runs the other way: metadata, then
 * chunks. Chunk I/O, always by `_id`, is in chunks.ts.
 *
 * Every per-message call names the document by `_id` alone, and that `_id` is
 * `<user>:<message>`: a lookup can only ever find the caller's own message (ownership by
 * construction, no second filter field), and it is an index lookup on MongoDB and on the
 * embedded FerretDB, which hands SQLite no filter but a lone `_id` (docs/decisions/0004). Only
 * the per-session listing and the sweeper's passes read by other fields.
 */
import { MongoServerError, ObjectId, type Collection, type Db } from 'mongodb';
import { KeyedMutex } from '../../util/keyed-mutex';
import { MailboxGoneError } from '../errors';
import type { MessageStore } from '../store';
import type { CiphertextPieces, MessageRef, StoredMessage } from '../types';
import { CHUNK_BYTES, ChunkStore } from './chunks';
import { COLLECTIONS } from './indexes';
import { parseId, type MongoUserStore } from './users';

/** Runs `task` while no other writer of this user's mailbox, in any process, runs one. */
export type UserLock = <T>(userId: string, task: () => Promise<T>) => Promise<T>;

/**
 * A cache of each user's stored bytes shared by every process (src/redis/usage-cache.ts), so the
 * quota check need not sum the messages. `get` answers null when it holds no total.
 */
export interface UsageCache {
  get(userId: string): Promise<number | null>;
  fill(userId: string, bytes: number): Promise<void>;
  add(userId: string, deltaBytes: number): Promise<void>;
  forget(userId: string): Promise<void>;
}
const DUPLICATE_KEY = 11000;

interface MessageDoc {
  _id: string;
  user: ObjectId;
  uid: number;
  arrivedAt: Date;
  size: number;
  flags: string[];
  /**
   * Absent until a client first receives the message whole. Absent rather than null so that
   * `$min` sets it once and keeps the first time (BSON orders null below every date).
   */
  fetchedAt?: Date;
  chunks: number;
}

/** The document `_id` of a user's message. */
function docId(user: ObjectId, message: ObjectId): string {
  return `${user.toHexString()}:${message.toHexString()}`;
}

/**
 * The filter for documents by `_id`. One id is `{_id: id}`, the only filter the embedded
 * FerretDB answers from its index (a client fetching one message at a time costs a lookup, not a
 * pass over the collection); several are one `$in` query — MongoDB serves both from the index.
 */
function byIds(ids: readonly string[]): { _id: string | { $in: string[] } } {
  return ids.length === 1 ? { _id: ids[0] as string } : { _id: { $in: [...ids] } };
}

/** The message part of a document `_id`: what the rest of kzymy knows as the message id. */
function messageIdOf(id: string): string {
  return id.slice(id.indexOf(':') + 1);
}

function toMessage(doc: MessageDoc): StoredMessage {
  return {
    id: messageIdOf(doc._id),
    userId: doc.user.toHexString(),
    uid: doc.uid,
    arrivedAt: doc.arrivedAt,
    size: doc.size,
    flags: doc.flags ?? [],
    fetchedAt: doc.fetchedAt ?? null,
  };
}

export class MongoMessageStore implements MessageStore {
  readonly chunkBytes = CHUNK_BYTES;
  private readonly messages: Collection<MessageDoc>;
  private readonly chunks: ChunkStore;
  /** Serializes UID allocation and the metadata write per user (see StoreOptions.userLock). */
  private readonly userLock: UserLock;

  constructor(
    db: Db,
    private readonly users: MongoUserStore,
    userLock?: UserLock,
    private readonly usage?: UsageCache,
  ) {
    this.messages = db.collection<MessageDoc>(COLLECTIONS.messages);
    this.chunks = new ChunkStore(db);
    const local = new KeyedMutex();
    this.userLock = userLock ?? ((userId, task) => local.run(userId, task));
  }

  /**
   * Stores a ciphertext for an active user; throws MailboxGoneError if there is none. The
   * ciphertext may come in pieces still being produced (a large message being encrypted), each
   * written as it arrives. With `encryptedTo`, the user must still have exactly that key when the
   * message is committed (it was encrypted to the key seen at RCPT; a key replaced meanwhile
   * makes the delivery fail, and the sender's retry is encrypted to the new one).
   */
  async add(
    userId: string,
    ciphertext: Buffer | CiphertextPieces,
    arrivedAt: Date,
    options: { encryptedTo?: string } = {},
  ): Promise<StoredMessage> {
    const user = parseId(userId);
    if (!user) throw new MailboxGoneError('no such mailbox');
    const messageId = new ObjectId();
    const pieces = Buffer.isBuffer(ciphertext) ? [ciphertext] : ciphertext;
    // Written or removed as a whole by ChunkStore.write; from here on, abandoned if commit fails.
    const written = await this.chunks.write(user, messageId, pieces, arrivedAt);
    try {
      const doc = await this.userLock(userId, () =>
        this.insertWithFreshUid(userId, options.encryptedTo, {
          _id: docId(user, messageId),
          user,
          uid: 0,
          arrivedAt,
          size: written.size,
          flags: [],
          chunks: written.chunks,
        }),
      );
      // The message is whole and visible; its marker goes with the next batch.
      this.chunks.finish(messageId);
      await this.usage?.add(userId, doc.size).catch(() => undefined);
      return toMessage(doc);
    } catch (error) {
      // Nothing half-written stays behind; if this cleanup fails too, the sweeper finds the marker.
      await this.chunks.abandon(messageId, written.chunks).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Inserts the metadata under the next UID. The unique {user, uid} index is the arbiter: MongoDB's
   * $inc is atomic, but FerretDB 1.x implements it as read-modify-write, so two processes can draw
   * the same UID; the loser gets a duplicate-key error and draws again (docs/decisions/0001-store.md).
   */
  private async insertWithFreshUid(
    userId: string,
    publicKey: string | undefined,
    doc: MessageDoc,
  ): Promise<MessageDoc> {
    for (let attempt = 0; ; attempt++) {
      const uid = await this.users.allocateUid(userId, publicKey);
      if (uid === null) throw new MailboxGoneError('no such active mailbox, or its key changed');
      const withUid = { ...doc, uid };
      try {
        await this.messages.insertOne(withUid);
        return withUid;
      } catch (error) {
        if (!(error instanceof MongoServerError && error.code === DUPLICATE_KEY) || attempt >= 50)
          throw error;
      }
    }
  }

  /** The user's messages in UID order: once per session, the one read that is not by `_id`. */
  async list(userId: string): Promise<StoredMessage[]> {
    const user = parseId(userId);
    if (!user) return [];
    const docs = await this.messages.find({ user }).sort({ uid: 1 }).toArray();
    return docs.map(toMessage);
  }

  /**
   * Bytes of ciphertext the user holds, for the quota: from the usage cache when it has a total,
   * else summed from the messages and cached. Not a counter in the user document: FerretDB 1.x
   * applies $inc as read-modify-write, so concurrent deliveries would make it drift
   * (docs/decisions/0001-store.md).
   */
  async usedBytes(userId: string): Promise<number> {
    const cached = await this.usage?.get(userId).catch(() => null);
    if (cached !== undefined && cached !== null) return cached;
    const bytes = await this.sumBytes(userId);
    await this.usage?.fill(userId, bytes).catch(() => undefined);
    return bytes;
  }

  /** The store's own total, always summed: what the cache returns to. */
  async sumBytes(userId: string): Promise<number> {
    const user = parseId(userId);
    if (!user) return 0;
    const [total] = await this.messages
      .aggregate<{
        bytes: number;
      }>([{ $match: { user } }, { $group: { _id: null, bytes: { $sum: '$size' } } }])
      .toArray();
    return total?.bytes ?? 0;
  }

  /** Messages and ciphertext bytes stored for everyone, for the metrics' totals. */
  async totals(): Promise<{ messages: number; bytes: number }> {
    // One accumulator per pipeline: FerretDB 1.24 sums `$size` as 0 beside a `$sum: 1`.
    const [total] = await this.messages
      .aggregate<{ bytes: number }>([{ $group: { _id: null, bytes: { $sum: '$size' } } }])
      .toArray();
    const messages = await this.messages.countDocuments({});
    return { messages, bytes: total?.bytes ?? 0 };
  }

  async count(userId: string): Promise<number> {
    const user = parseId(userId);
    return user ? this.messages.countDocuments({ user }) : 0;
  }

  /** A message by UID (a scan on the embedded FerretDB: for tools and tests, not per message). */
  async byUid(userId: string, uid: number): Promise<StoredMessage | null> {
    const user = parseId(userId);
    if (!user) return null;
    const doc = await this.messages.findOne({ user, uid });
    return doc ? toMessage(doc) : null;
  }

  /** Whether the message is still stored (another session may have deleted it). */
  async exists(userId: string, messageId: string): Promise<boolean> {
    return (await this.byDocIds(this.docIds(userId, [messageId]))).length === 1;
  }

  /** The whole ciphertext. */
  async read(userId: string, message: MessageRef): Promise<Buffer> {
    return this.readRange(userId, message, 0, Number.MAX_SAFE_INTEGER);
  }

  /**
   * Bytes [start, end) of the ciphertext, reading only the chunks that hold them. The size comes
   * from the caller's listing, so a read costs only the chunk lookups; each chunk is checked to
   * belong to `userId`, so one user cannot read another's, and a message deleted meanwhile
   * reads as MailboxGoneError.
   */
  async readRange(
    userId: string,
    message: MessageRef,
    start: number,
    end: number,
  ): Promise<Buffer> {
    const user = parseId(userId);
    const id = parseId(message.id);
    if (!user || !id) throw new MailboxGoneError('no such message');
    const last = Math.min(end, message.size);
    if (start >= last) return Buffer.alloc(0);
    const firstChunk = Math.floor(start / CHUNK_BYTES);
    const lastChunk = Math.floor((last - 1) / CHUNK_BYTES);
    const pieces = await this.chunks.read(user, id, firstChunk, lastChunk);
    if (!pieces) throw new MailboxGoneError('no such message');
    const joined = pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces);
    const offset = start - firstChunk * CHUNK_BYTES;
    return joined.subarray(offset, offset + (last - start));
  }

  /** Marks messages as received by a client. `$min` keeps the first time (the grace counts from it). */
  async markFetched(userId: string, messageIds: string[], at: Date): Promise<void> {
    const ids = this.docIds(userId, messageIds);
    if (ids.length > 0) await this.messages.updateMany(byIds(ids), { $min: { fetchedAt: at } });
  }

  /** Gives the messages these flags (one STORE sets many alike); returns how many exist. */
  async setFlags(userId: string, messageIds: string[], flags: string[]): Promise<number> {
    const ids = this.docIds(userId, messageIds);
    if (ids.length === 0) return 0;
    return (await this.messages.updateMany(byIds(ids), { $set: { flags } })).matchedCount;
  }

  /**
   * Deletes messages outright: no archive, no trash. Returns how many this call removed, so that
   * when two sessions delete the same messages at once each message is counted exactly once.
   * deletedCount, not findOneAndDelete, decides: FerretDB 1.x answers a findOneAndDelete with
   * the document to every concurrent caller, while its delete count comes from SQLite itself.
   */
  async remove(userId: string, messageIds: string[]): Promise<number> {
    const docs = await this.byDocIds(this.docIds(userId, messageIds));
    if (docs.length === 0) return 0;
    const removed = (await this.messages.deleteMany(byIds(docs.map((doc) => doc._id))))
      .deletedCount;
    if (removed === docs.length) {
      const freed = docs.reduce((sum, doc) => sum + doc.size, 0);
      await this.usage?.add(userId, -freed).catch(() => undefined);
    } else {
      // Another session took some of them; which ones is not told, so the total is summed anew.
      await this.usage?.forget(userId).catch(() => undefined);
    }
    // Every listed message is gone now, by this call or another: either way its chunks go.
    await this.chunks.removeAll(
      docs.map((doc) => ({ message: new ObjectId(messageIdOf(doc._id)), count: doc.chunks })),
    );
    return removed;
  }

  /** Document `_id`s of a user's messages; ids that are not message ids are dropped. */
  private docIds(userId: string, messageIds: readonly string[]): string[] {
    const user = parseId(userId);
    if (!user) return [];
    return messageIds
      .map(parseId)
      .filter((id): id is ObjectId => id !== null)
      .map((id) => docId(user, id));
  }

  /** The documents that still exist. */
  private async byDocIds(ids: readonly string[]): Promise<MessageDoc[]> {
    return ids.length === 0 ? [] : this.messages.find(byIds(ids)).toArray();
  }

  /** Completes background work (the removal of finished upload markers); close() calls it. */
  async flush(): Promise<void> {
    await this.chunks.flushFinished();
  }

  /** Removes every message and chunk of a user (account deletion). */
  async purgeUser(userId: string): Promise<void> {
    const user = parseId(userId);
    if (!user) return;
    await this.messages.deleteMany({ user });
    await this.chunks.purgeUser(user);
    await this.usage?.forget(userId).catch(() => undefined);
  }

  /** Messages fetched before `cutoff` and never committed, for the sweeper. */
  async fetchedBefore(cutoff: Date, limit = 500): Promise<StoredMessage[]> {
    const docs = await this.messages
      .find({ fetchedAt: { $lt: cutoff } })
      .limit(limit)
      .toArray();
    return docs.map(toMessage);
  }

  /** Messages that arrived before `cutoff`, fetched or not, for the retention sweep. */
  async arrivedBefore(cutoff: Date, limit = 500): Promise<StoredMessage[]> {
    const docs = await this.messages
      .find({ arrivedAt: { $lt: cutoff } })
      .limit(limit)
      .toArray();
    return docs.map(toMessage);
  }

  /**
   * Removes the chunks of uploads started before `cutoff` that never became a message: what a
   * crash between the chunk writes and the metadata write leaves behind. Returns chunks removed.
   */
  async removeOrphanChunks(cutoff: Date): Promise<number> {
    return this.chunks.removeAbandoned(
      cutoff,
      async (user, id) => (await this.messages.findOne({ _id: docId(user, id) })) !== null,
    );
  }
}
