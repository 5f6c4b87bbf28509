/**
 * Encrypted messages on the SQLite engine. A delivery is one transaction on the writer
 * (writes.ts); here the ciphertext is cut into chunks as it arrives. A ciphertext that is whole
 * and small goes with its delivery job; a larger one, still being encrypted, is staged chunk by
 * chunk on the writer first, so it is never held whole in this process.
 */
import { MailboxGoneError } from '../errors';
import type { MessageStore } from '../store';
import type { CiphertextPieces, MessageRef, StoredMessage } from '../types';
import { read, type Reads } from './reads';
import { parseId, toMessage, type MessageRow } from './rows';
import { rechunk } from './chunks';
import { CHUNK_BYTES } from './schema';
import type { Writer } from './writer';

export class SqliteMessageStore implements MessageStore {
  readonly chunkBytes = CHUNK_BYTES;
  /** Staging ids are this writer's own (its temporary table is private to its connection). */
  private nextStage = 1;

  constructor(
    private readonly reads: Reads,
    private readonly writer: Writer,
  ) {}

  async add(
    userId: string,
    ciphertext: Buffer | CiphertextPieces,
    arrivedAt: Date,
    options: { encryptedTo?: string } = {},
  ): Promise<StoredMessage> {
    if (!parseId(userId)) throw new MailboxGoneError('no such mailbox');
    const deliver = {
      op: 'deliver',
      userId,
      arrivedAt: arrivedAt.getTime(),
      ...(options.encryptedTo === undefined ? {} : { encryptedTo: options.encryptedTo }),
    } as const;
    // A ciphertext given whole is in memory already: its chunks go with the delivery job. One
    // still being produced goes to the writer's staging table chunk by chunk, unless it turns
    // out to be a single chunk (most mail).
    const whole = Buffer.isBuffer(ciphertext);
    // Each chunk is handed over with the job that carries it (chunks.ts): not used after.
    let held: Uint8Array[] = [];
    let size = 0;
    let stage: number | undefined;
    let staged = 0;
    try {
      for await (const chunk of rechunk(whole ? [ciphertext] : ciphertext, this.writer.buffers)) {
        size += chunk.byteLength;
        if (!whole && held.length === 1) {
          stage ??= this.nextStage++;
          const data = held[0] as Uint8Array;
          held = [];
          await this.writer.submit({ op: 'stageAppend', stage, n: staged++, data });
        }
        held.push(chunk);
      }
      if (stage === undefined) return await this.writer.submit({ ...deliver, size, chunks: held });
      for (const data of held)
        await this.writer.submit({ op: 'stageAppend', stage, n: staged++, data });
      return await this.writer.submit({ ...deliver, size, stage });
    } catch (error) {
      if (stage !== undefined)
        await this.writer.submit({ op: 'stageDrop', stage }).catch(() => undefined);
      throw error;
    }
  }

  async list(userId: string): Promise<StoredMessage[]> {
    const user = parseId(userId);
    if (!user) return [];
    return (await read(() => this.reads.messages.all(user) as MessageRow[])).map(toMessage);
  }

  async usedBytes(userId: string): Promise<number> {
    const user = parseId(userId);
    if (!user) return 0;
    const row = await read(() => this.reads.usedBytes.get(user) as { used_bytes: number });
    return row?.used_bytes ?? 0;
  }

  async sumBytes(userId: string): Promise<number> {
    const user = parseId(userId);
    if (!user) return 0;
    return (await read(() => this.reads.sumBytes.get(user) as { bytes: number })).bytes;
  }

  async count(userId: string): Promise<number> {
    const user = parseId(userId);
    if (!user) return 0;
    return (await read(() => this.reads.count.get(user) as { n: number })).n;
  }

  async totals(): Promise<{ messages: number; bytes: number }> {
    return read(() => this.reads.totals.get() as { messages: number; bytes: number });
  }

  async byUid(userId: string, uid: number): Promise<StoredMessage | null> {
    const user = parseId(userId);
    if (!user) return null;
    const row = await read(() => this.reads.byUid.get(user, uid) as MessageRow | undefined);
    return row ? toMessage(row) : null;
  }

  async exists(userId: string, messageId: string): Promise<boolean> {
    const user = parseId(userId);
    const id = parseId(messageId);
    if (!user || !id) return false;
    return (await read(() => this.reads.exists.get(id, user))) !== undefined;
  }

  read(userId: string, message: MessageRef): Promise<Buffer> {
    return this.readRange(userId, message, 0, Number.MAX_SAFE_INTEGER);
  }

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
    const rows = await read(
      () => this.reads.chunks.all(id, user, firstChunk, lastChunk) as { data: Buffer }[],
    );
    // Another user's message, or one deleted meanwhile: no rows (or fewer than asked).
    if (rows.length !== lastChunk - firstChunk + 1) throw new MailboxGoneError('no such message');
    const joined =
      rows.length === 1
        ? (rows[0] as { data: Buffer }).data
        : Buffer.concat(rows.map((r) => r.data));
    const offset = start - firstChunk * CHUNK_BYTES;
    return joined.subarray(offset, offset + (last - start));
  }

  async markFetched(userId: string, messageIds: string[], at: Date): Promise<void> {
    if (messageIds.length === 0 || !parseId(userId)) return;
    await this.writer.submit({ op: 'markFetched', userId, messageIds, at: at.getTime() });
  }

  async setFlags(userId: string, messageIds: string[], flags: string[]): Promise<number> {
    if (messageIds.length === 0 || !parseId(userId)) return 0;
    return this.writer.submit({ op: 'setFlags', userId, messageIds, flags });
  }

  async remove(userId: string, messageIds: string[]): Promise<number> {
    if (messageIds.length === 0 || !parseId(userId)) return 0;
    return this.writer.submit({ op: 'remove', userId, messageIds });
  }

  async purgeUser(userId: string): Promise<void> {
    await this.writer.submit({ op: 'purgeUser', userId });
  }

  async fetchedBefore(cutoff: Date, limit = 500): Promise<StoredMessage[]> {
    const rows = await read(
      () => this.reads.fetchedBefore.all(cutoff.getTime(), limit) as MessageRow[],
    );
    return rows.map(toMessage);
  }

  async arrivedBefore(cutoff: Date, limit = 500): Promise<StoredMessage[]> {
    const rows = await read(
      () => this.reads.arrivedBefore.all(cutoff.getTime(), limit) as MessageRow[],
    );
    return rows.map(toMessage);
  }

  /** Nothing to do: a delivery is one transaction, so no ciphertext outlives a failed one. */
  async removeOrphanChunks(_cutoff: Date): Promise<number> {
    return 0;
  }

  /** Writes are answered only once committed: nothing waits in the background. */
  async flush(): Promise<void> {}
}
