/**
 * Writing users and messages into a MongoDB store under the ids they already have, for
 * `kzymy store copy` (src/store/copy.ts). Every step can be repeated: a user document is
 * replaced by the source's, a message whose metadata exists is complete (metadata is written
 * last, as in a delivery) and only its flags are brought up to date, and a message whose metadata
 * does not exist yet has whatever an interrupted run left of its chunks removed before its
 * ciphertext is written again. Written with the engine's durable write concern.
 */
import { MongoClient, MongoServerError, ObjectId, type Collection, type Db } from 'mongodb';
import type { CiphertextPieces, StoredMessage, User } from '../types';
import { ChunkStore } from './chunks';
import { applyIndexes, COLLECTIONS } from './indexes';
import { DURABLE_WRITES } from './store';
import type { UserDoc } from './users';

interface MessageDoc {
  _id: string;
  user: ObjectId;
  uid: number;
  arrivedAt: Date;
  size: number;
  flags: string[];
  fetchedAt?: Date;
  chunks: number;
}

export class UsernameConflictError extends Error {
  override name = 'UsernameConflictError';
}

export type PutOutcome = 'copied' | 'updated';

/**
 * The users a copy wrote, so that a later run can remove those the source no longer has (an
 * account deleted between two runs must not come back) without touching any other user of the
 * destination. Not part of the engine's schema; it can be dropped once the move is done.
 */
const COPIED_USERS = 'copiedUsers';
const DUPLICATE_KEY = 11000;

export class MongoImport {
  private readonly users: Collection<UserDoc>;
  private readonly names: Collection<{ _id: string; user: ObjectId }>;
  private readonly messages: Collection<MessageDoc>;
  private readonly copied: Collection<{ _id: ObjectId }>;
  private readonly chunks: ChunkStore;

  private constructor(
    private readonly client: MongoClient,
    db: Db,
  ) {
    this.users = db.collection<UserDoc>(COLLECTIONS.users);
    this.names = db.collection(COLLECTIONS.usernames);
    this.messages = db.collection<MessageDoc>(COLLECTIONS.messages);
    this.copied = db.collection(COPIED_USERS);
    this.chunks = new ChunkStore(db);
  }

  static async open(url: string, database: string): Promise<MongoImport> {
    const client = new MongoClient(url, {
      serverSelectionTimeoutMS: 10_000,
      appName: 'kzymy',
      writeConcern: DURABLE_WRITES,
    });
    await client.connect();
    try {
      const db = client.db(database);
      await applyIndexes(db);
      return new MongoImport(client, db);
    } catch (error) {
      await client.close();
      throw error;
    }
  }

  /**
   * The user as the source has her, under her id, and her name in the register. A name held by
   * another user in the destination is a conflict: nothing of this user is written.
   */
  async putUser(user: User): Promise<PutOutcome> {
    const _id = new ObjectId(user.id);
    const holder = await this.names.findOne({ _id: user.username });
    if (holder && !holder.user.equals(_id))
      throw new UsernameConflictError(
        `the username ${user.username} belongs to another user there`,
      );
    const doc: UserDoc = {
      username: user.username,
      state: user.state,
      fingerprint: user.fingerprint,
      publicKey: user.publicKey,
      passwordHash: user.passwordHash,
      createdAt: user.createdAt,
      catchAll: user.policy.catchAll,
      allowed: user.policy.allowed,
      disabled: user.policy.disabled,
      sendEnabled: user.sending.enabled,
      signAsNym: user.sending.signAsNym,
      uidValidity: user.uidValidity,
      uidNext: user.uidNext,
      // The default is no field at all, as the engine itself writes it (users.ts).
      ...(user.payloadFormat === 'exact' ? { payloadFormat: 'exact' as const } : {}),
      ...(user.lastFetchDay === null ? {} : { lastFetchDay: user.lastFetchDay }),
      // The destination goes over with its state; refusals and leases stay behind (a refused
      // message is offered to its destination once more from the new store, and kept again).
      ...(user.forward ? { forward: user.forward } : {}),
    };
    // Recorded first: a run interrupted after the user was written still knows it wrote her.
    await this.copied.insertOne({ _id }).catch((error: unknown) => {
      if (!(error instanceof MongoServerError && error.code === DUPLICATE_KEY)) throw error;
    });
    if (!holder) await this.names.insertOne({ _id: user.username, user: _id });
    const result = await this.users.replaceOne({ _id }, doc, { upsert: true });
    return result.upsertedCount === 1 ? 'copied' : 'updated';
  }

  /** The ids of the user's messages already there. */
  async messageIds(userId: string): Promise<Set<string>> {
    const docs = await this.messages
      .find({ user: new ObjectId(userId) })
      .project<{ _id: string }>({ _id: 1 })
      .toArray();
    return new Set(docs.map((doc) => doc._id.slice(doc._id.indexOf(':') + 1)));
  }

  /**
   * A message that is not there yet: its ciphertext chunk by chunk (announced by an upload marker,
   * as a delivery's), then its metadata, which makes it visible whole.
   */
  async putMessage(message: StoredMessage, ciphertext: CiphertextPieces): Promise<void> {
    const user = new ObjectId(message.userId);
    const id = new ObjectId(message.id);
    // What an interrupted run may have left of this message.
    await this.chunks.abandon(id);
    const written = await this.chunks.write(user, id, ciphertext, new Date());
    try {
      if (written.size !== message.size) throw new Error('the ciphertext is not the size stored');
      await this.messages.insertOne({
        _id: `${message.userId}:${message.id}`,
        user,
        uid: message.uid,
        arrivedAt: message.arrivedAt,
        size: message.size,
        flags: message.flags,
        ...(message.fetchedAt ? { fetchedAt: message.fetchedAt } : {}),
        chunks: written.chunks,
      });
    } catch (error) {
      await this.chunks.abandon(id, written.chunks).catch(() => undefined);
      throw error;
    }
    this.chunks.finish(id);
  }

  /**
   * A message already there: flags and first fetch time as the source has them now. Its upload
   * marker goes too, should a run have been interrupted before it removed it.
   */
  async updateMessage(message: StoredMessage): Promise<void> {
    this.chunks.finish(new ObjectId(message.id));
    await this.messages.updateOne(
      { _id: `${message.userId}:${message.id}` },
      message.fetchedAt
        ? { $set: { flags: message.flags, fetchedAt: message.fetchedAt } }
        : { $set: { flags: message.flags }, $unset: { fetchedAt: '' } },
    );
  }

  /** Messages there that the source no longer has (fetched and deleted since an earlier run). */
  async removeMessages(userId: string, messageIds: readonly string[]): Promise<void> {
    for (const messageId of messageIds) {
      const _id = `${userId}:${messageId}`;
      const doc = await this.messages.findOne({ _id });
      if (!doc) continue;
      await this.messages.deleteOne({ _id });
      await this.chunks.removeAll([{ message: new ObjectId(messageId), count: doc.chunks }]);
      this.chunks.finish(new ObjectId(messageId));
    }
  }

  /** Ids of the users earlier runs of the copy wrote. */
  async copiedUserIds(): Promise<string[]> {
    const docs = await this.copied.find({}).toArray();
    return docs.map((doc) => doc._id.toHexString());
  }

  /** A user the copy wrote and the source no longer has: her mail, her name, herself. */
  async removeUser(userId: string): Promise<void> {
    const _id = new ObjectId(userId);
    await this.messages.deleteMany({ user: _id });
    await this.chunks.purgeUser(_id);
    const doc = await this.users.findOne({ _id });
    if (doc) await this.names.deleteOne({ _id: doc.username, user: _id });
    await this.users.deleteOne({ _id });
    await this.copied.deleteOne({ _id });
  }

  async close(): Promise<void> {
    await this.chunks.flushFinished();
    await this.client.close();
  }
}
