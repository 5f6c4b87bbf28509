/**
 * A ciphertext cut into the chunks the SQLite engine stores, in buffers that go to the writer
 * thread and come back.
 *
 * Each full chunk is copied once, into a CHUNK_BYTES buffer of the writer's (ChunkBuffers), which
 * is then moved to the writer thread with its job, not copied again, and moved back with the
 * reply to be filled with the next chunk. A buffer used once and dropped would be collected only
 * when the thread that dropped it next runs a full garbage collection, and V8 starts one for
 * buffers alone only when tens of megabytes of them have piled up: the writer thread, which
 * allocates almost nothing else, kept a whole 33 MB ciphertext that way (docs/BENCHMARKS.md,
 * "Memory for a 25 MB message").
 */
import type { CiphertextPieces } from '../types';
import type { Job } from './jobs';
import { CHUNK_BYTES } from './schema';

/** Free buffers kept for the next chunks: a few per large delivery in flight (2 MiB). */
const KEEP_FREE = 8;

export class ChunkBuffers {
  private readonly free: ArrayBuffer[] = [];

  /** An empty CHUNK_BYTES buffer: one given back earlier, or a new one. */
  take(): Uint8Array {
    const buffer = this.free.pop();
    return buffer ? new Uint8Array(buffer) : new Uint8Array(CHUNK_BYTES);
  }

  /** How many free buffers are kept now. */
  get kept(): number {
    return this.free.length;
  }

  /** A buffer the writer is done with; kept only if it is a whole chunk and there is room. */
  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength === CHUNK_BYTES && this.free.length < KEEP_FREE) this.free.push(buffer);
  }
}

/**
 * The buffers of a job's chunks, handed over with it: transferred to the writer thread, and
 * back (reusable() only) once the job has run.
 */
export function chunkBuffersOf(job: Job): ArrayBuffer[] {
  const data =
    job.op === 'deliver' ? (job.chunks ?? []) : job.op === 'stageAppend' ? [job.data] : [];
  const buffers = data.map((chunk) => chunk.buffer as ArrayBuffer);
  return buffers.filter((buffer, i) => buffers.indexOf(buffer) === i);
}

/** The job's buffers worth giving back to the pool: the full-chunk ones. */
export function reusable(job: Job): ArrayBuffer[] {
  return chunkBuffersOf(job).filter((buffer) => buffer.byteLength === CHUNK_BYTES);
}

/**
 * Cuts consecutive pieces of any size into chunks of exactly CHUNK_BYTES (the last shorter),
 * each in a buffer of its own that the caller hands over to the writer with its job: full ones
 * from `buffers`, the last (or only) one copied to its exact size, so a small message never
 * holds a whole chunk's buffer. An empty ciphertext is one empty chunk.
 */
export async function* rechunk(
  pieces: CiphertextPieces,
  buffers: ChunkBuffers,
): AsyncIterable<Uint8Array> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let chunks = 0;
  for await (const piece of pieces) {
    let rest = new Uint8Array(piece.buffer, piece.byteOffset, piece.byteLength);
    while (pendingBytes + rest.byteLength >= CHUNK_BYTES) {
      const chunk = buffers.take();
      const filled = fill(chunk, pending);
      const taken = CHUNK_BYTES - filled;
      chunk.set(rest.subarray(0, taken), filled);
      rest = rest.subarray(taken);
      pending = [];
      pendingBytes = 0;
      chunks++;
      yield chunk;
    }
    if (rest.byteLength > 0) {
      pending.push(rest);
      pendingBytes += rest.byteLength;
    }
  }
  if (pendingBytes > 0 || chunks === 0) {
    const last = new Uint8Array(pendingBytes);
    fill(last, pending);
    yield last;
  }
}

/** Copies `pieces` to the start of `into`; returns how many bytes that was. */
function fill(into: Uint8Array, pieces: readonly Uint8Array[]): number {
  let filled = 0;
  for (const piece of pieces) {
    into.set(piece, filled);
    filled += piece.byteLength;
  }
  return filled;
}
