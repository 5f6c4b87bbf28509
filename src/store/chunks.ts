/**
 * Ciphertext chunks, always addressed by `_id`. FerretDB 1.x on SQLite hands only `_id`
 * conditions to SQLite; any other filter reads and decodes the whole collection — here, every
 * stored ciphertext of every user (FerretDB issues #3235, #3599). So a chunk's `_id` is derived
 * from its message and number, and reads and deletes name it. (MongoDB would use the
 * {user, message, n} index either way; the `_id` form is fast on both.)
 *
 * A write in progress is announced in `uploads` first, a small collection the sweeper can scan
 * cheaply: a delivery that dies between its writes leaves a marker, never an unfindable chunk.
 */
import { Binary, type Collection, type Db, type ObjectId } from 'mongodb';
import { COLLECTIONS } from './indexes';

export const CHUNK_BYTES = 1024 * 1024;
/** Chunk deletes per request: keeps each request small (a 1,000-message EXPUNGE is a few). */
const DELETE_BATCH = 200;

interface ChunkDoc {
  _id: string;
  message: ObjectId;
  user: ObjectId;
  n: number;
  data: Binary;
}

interface UploadDoc {
  _id: ObjectId;
  user: ObjectId;
  chunks: number;
  startedAt: Date;
}

export function chunkId(message: ObjectId, n: number): string {
  return `${message.toHexString()}:${n}`;
}

export function chunkCount(size: number): number {
  return Math.max(1, Math.ceil(size / CHUNK_BYTES));
}

export class ChunkStore {
  private readonly chunks: Collection<ChunkDoc>;
  private readonly uploads: Collection<UploadDoc>;

  constructor(db: Db) {
    this.chunks = db.collection<ChunkDoc>(COLLECTIONS.chunks);
    this.uploads = db.collection<UploadDoc>(COLLECTIONS.uploads);
  }

  /** Announces the upload, then writes the chunks; returns how many. */
  async write(user: ObjectId, message: ObjectId, ciphertext: Buffer, now: Date): Promise<number> {
    const count = chunkCount(ciphertext.length);
    await this.uploads.insertOne({ _id: message, user, chunks: count, startedAt: now });
    // One chunk per request keeps each wire message small.
    for (let n = 0; n < count; n++) {
      const data = ciphertext.subarray(n * CHUNK_BYTES, (n + 1) * CHUNK_BYTES);
      await this.chunks.insertOne({
        _id: chunkId(message, n),
        message,
        user,
        n,
        data: new Binary(data),
      });
    }
    return count;
  }

  /** The upload is complete (its message document exists): forget the marker. */
  async finish(message: ObjectId): Promise<void> {
    await this.uploads.deleteOne({ _id: message });
  }

  /**
   * Chunks first..last of a message, or null if any is missing or belongs to another user (the
   * message was deleted meanwhile, or the id is not this user's).
   */
  async read(
    user: ObjectId,
    message: ObjectId,
    first: number,
    last: number,
  ): Promise<Buffer[] | null> {
    const pieces: Buffer[] = [];
    for (let n = first; n <= last; n++) {
      const doc = await this.chunks.findOne({ _id: chunkId(message, n) });
      if (!doc || !doc.user.equals(user)) return null;
      pieces.push(Buffer.from(doc.data.buffer));
    }
    return pieces;
  }

  /** Deletes a message's chunks (its upload marker went when the message became visible). */
  async remove(message: ObjectId, count: number): Promise<void> {
    for (let n = 0; n < count; n++) await this.chunks.deleteOne({ _id: chunkId(message, n) });
  }

  /**
   * Deletes the chunks of many messages: one request carrying a delete by `_id` per chunk, which
   * MongoDB and the embedded FerretDB each serve from the `_id` index.
   */
  async removeAll(messages: readonly { message: ObjectId; count: number }[]): Promise<void> {
    const ids = messages.flatMap(({ message, count }) =>
      Array.from({ length: count }, (_, n) => chunkId(message, n)),
    );
    for (let i = 0; i < ids.length; i += DELETE_BATCH) {
      const batch = ids.slice(i, i + DELETE_BATCH);
      await this.chunks.bulkWrite(
        batch.map((_id) => ({ deleteOne: { filter: { _id } } })),
        { ordered: false },
      );
    }
  }

  /** Deletes an upload that never became a message: its chunks and its marker. */
  async abandon(message: ObjectId, count: number): Promise<void> {
    await this.remove(message, count);
    await this.uploads.deleteOne({ _id: message });
  }

  /** Every chunk and marker of a user (account deletion: rare, so a scan is acceptable). */
  async purgeUser(user: ObjectId): Promise<void> {
    await this.chunks.deleteMany({ user });
    await this.uploads.deleteMany({ user });
  }

  /**
   * Uploads started before `cutoff` and never finished. Those whose message exists after all (the
   * marker's delete was what failed) only lose the marker; the rest lose their chunks too.
   */
  async removeAbandoned(
    cutoff: Date,
    messageExists: (user: ObjectId, id: ObjectId) => Promise<boolean>,
  ): Promise<number> {
    const stale = await this.uploads
      .find({ startedAt: { $lt: cutoff } })
      .limit(500)
      .toArray();
    let removed = 0;
    for (const upload of stale) {
      if (await messageExists(upload.user, upload._id)) {
        await this.uploads.deleteOne({ _id: upload._id });
        continue;
      }
      await this.abandon(upload._id, upload.chunks);
      removed += upload.chunks;
    }
    return removed;
  }
}
