/**
 * Ciphertext chunks, always addressed by `_id`. FerretDB 1.x on SQLite hands only `_id`
 * conditions to SQLite; any other filter reads and decodes the whole collection — here, every
 * stored ciphertext of every user (FerretDB issues #3235, #3599). So a chunk's `_id` is derived
 * from its message and number, and reads and deletes name it. (MongoDB would use the
 * {user, message, n} index either way; the `_id` form is fast on both.)
 *
 * A write in progress is announced in `uploads` first, a small collection the sweeper can scan
 * cheaply: a delivery that dies between its writes leaves a marker, never an unfindable chunk.
 * Chunks are written in order from 0, so what a dead upload leaves is always chunks 0..k-1.
 */
import { Binary, type Collection, type Db, type ObjectId } from 'mongodb';
import type { CiphertextPieces } from '../types';
import { COLLECTIONS } from './indexes';

export const CHUNK_BYTES = 1024 * 1024;
/** Chunk deletes per request: keeps each request small (a 1,000-message EXPUNGE is a few). */
const DELETE_BATCH = 200;
/** Chunk ids tried per request when removing an upload of unknown length (most have one chunk). */
const PREFIX_BATCH = 8;
/** Markers of finished uploads are removed in one request once this many wait… */
const MARKER_BATCH = 100;
/** …or this long after the first, whichever comes first. */
const MARKER_DELAY_MS = 500;

export interface WrittenChunks {
  chunks: number;
  size: number;
}

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
  startedAt: Date;
}

export function chunkId(message: ObjectId, n: number): string {
  return `${message.toHexString()}:${n}`;
}

export class ChunkStore {
  private readonly chunks: Collection<ChunkDoc>;
  private readonly uploads: Collection<UploadDoc>;
  /** Markers of committed uploads waiting to be removed together (finish()). */
  private readonly finished: ObjectId[] = [];
  private finishTimer: NodeJS.Timeout | undefined;
  private readonly removals = new Set<Promise<void>>();

  constructor(db: Db) {
    this.chunks = db.collection<ChunkDoc>(COLLECTIONS.chunks);
    this.uploads = db.collection<UploadDoc>(COLLECTIONS.uploads);
  }

  /**
   * Announces the upload, then writes the chunks as the pieces arrive: a large ciphertext that is
   * still being encrypted is never held whole. All or nothing: if a piece or a write fails, the
   * chunks written so far and the marker are removed before the error is passed on.
   */
  async write(
    user: ObjectId,
    message: ObjectId,
    pieces: CiphertextPieces,
    now: Date,
  ): Promise<WrittenChunks> {
    await this.uploads.insertOne({ _id: message, user, startedAt: now });
    let chunks = 0;
    let size = 0;
    // One chunk per request keeps each wire message small.
    const writeChunk = async (data: Uint8Array) => {
      chunks++; // counted before the insert: a failed insert may still have landed
      await this.chunks.insertOne({
        _id: chunkId(message, chunks - 1),
        message,
        user,
        n: chunks - 1,
        data: new Binary(data),
      });
    };
    try {
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      for await (const piece of pieces) {
        size += piece.length;
        pending.push(piece);
        pendingBytes += piece.length;
        while (pendingBytes >= CHUNK_BYTES) {
          const joined = Buffer.concat(pending, pendingBytes);
          await writeChunk(joined.subarray(0, CHUNK_BYTES));
          const rest = joined.subarray(CHUNK_BYTES);
          pending = rest.length > 0 ? [rest] : [];
          pendingBytes = rest.length;
        }
      }
      // The last piece, or the only one; an empty ciphertext is one empty chunk.
      if (pendingBytes > 0 || chunks === 0) {
        await writeChunk(
          pending.length === 1 ? (pending[0] as Uint8Array) : Buffer.concat(pending),
        );
      }
      return { chunks, size };
    } catch (error) {
      // If this cleanup fails too, the sweeper finds the marker.
      await this.abandon(message, chunks).catch(() => undefined);
      throw error;
    }
  }

  /**
   * The upload is complete (its message document exists): its marker can go. Markers go in
   * batches, one request for many deliveries and off each delivery's path; a marker that outlives
   * its message's commit (a crash before the batch) is harmless: the sweeper finds the message
   * and drops only the marker.
   */
  finish(message: ObjectId): void {
    this.finished.push(message);
    if (this.finished.length >= MARKER_BATCH) void this.flushFinished();
    else this.finishTimer ??= setTimeout(() => void this.flushFinished(), MARKER_DELAY_MS).unref();
  }

  /** Removes the markers of finished uploads now, and waits for every removal under way. */
  async flushFinished(): Promise<void> {
    clearTimeout(this.finishTimer);
    this.finishTimer = undefined;
    const batch = this.finished.splice(0);
    if (batch.length > 0) {
      const filter = batch.length === 1 ? { _id: batch[0] as ObjectId } : { _id: { $in: batch } };
      const removal = this.uploads.deleteMany(filter).then(
        () => undefined,
        () => undefined, // left for the sweeper
      );
      this.removals.add(removal);
      void removal.then(() => this.removals.delete(removal));
    }
    await Promise.all(this.removals);
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

  /**
   * Deletes the chunks of many messages: one request carrying a delete by `_id` per chunk, which
   * MongoDB and the embedded FerretDB each serve from the `_id` index.
   */
  async removeAll(messages: readonly { message: ObjectId; count: number }[]): Promise<void> {
    const ids = messages.flatMap(({ message, count }) =>
      Array.from({ length: count }, (_, n) => chunkId(message, n)),
    );
    await this.deleteByIds(ids);
  }

  /** Deletes chunks by `_id`, a request per DELETE_BATCH; returns how many existed. */
  private async deleteByIds(ids: readonly string[]): Promise<number> {
    let deleted = 0;
    for (let i = 0; i < ids.length; i += DELETE_BATCH) {
      const batch = ids.slice(i, i + DELETE_BATCH);
      const result = await this.chunks.bulkWrite(
        batch.map((_id) => ({ deleteOne: { filter: { _id } } })),
        { ordered: false },
      );
      deleted += result.deletedCount;
    }
    return deleted;
  }

  /**
   * Deletes an upload that never became a message: its chunks and its marker. Without a count
   * (a crashed upload) it deletes chunks 0, 1, 2, … until one is missing; returns how many went.
   */
  async abandon(message: ObjectId, count?: number): Promise<number> {
    let removed = 0;
    if (count !== undefined) {
      removed = await this.deleteByIds(
        Array.from({ length: count }, (_, n) => chunkId(message, n)),
      );
    } else {
      for (let first = 0; ; first += PREFIX_BATCH) {
        const ids = Array.from({ length: PREFIX_BATCH }, (_, i) => chunkId(message, first + i));
        const deleted = await this.deleteByIds(ids);
        removed += deleted;
        if (deleted < ids.length) break;
      }
    }
    await this.uploads.deleteOne({ _id: message });
    return removed;
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
      removed += await this.abandon(upload._id);
    }
    return removed;
  }
}
