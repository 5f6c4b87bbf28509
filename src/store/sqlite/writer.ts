/**
 * Where the SQLite engine's writes run. By default on a writer thread (worker.ts), grouping the
 * jobs that arrive together into one commit: neither a sync nor a wait for another process's
 * write lock then stops this process's event loop (docs/decisions/0005 has the measurements).
 * The in-thread modes exist for that comparison (bench/sqlite-commit.ts), not for production.
 */
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { MailboxGoneError, UsernameTakenError } from '../errors';
import { ChunkBuffers, chunkBuffersOf, reusable } from './chunks';
import type {
  FromWorker,
  Job,
  JobError,
  JobName,
  JobOf,
  JobResults,
  Outcome,
  ToWorker,
  WriterSettings,
} from './jobs';
import { JobQueue } from './queue';
import { openConnection, type Connection } from './schema';
import { Writes } from './writes';

/**
 * - `worker`: a writer thread, jobs that arrive together committed together (the default);
 * - `worker-single`: a writer thread, one commit per job;
 * - `main` / `main-single`: the same on the caller's thread (blocking it while they run).
 */
export type CommitMode = 'worker' | 'worker-single' | 'main' | 'main-single';

export interface Writer {
  /** Where a job's chunks are cut into, and their buffers come back to (chunks.ts). */
  readonly buffers: ChunkBuffers;
  submit<K extends JobName>(job: JobOf<K>): Promise<JobResults[K]>;
  close(): Promise<void>;
}

export async function startWriter(mode: CommitMode, settings: WriterSettings): Promise<Writer> {
  return mode === 'worker' || mode === 'worker-single'
    ? ThreadWriter.start(settings)
    : InlineWriter.start(settings);
}

/** An error from a job, as the caller would have seen it had the job run on its own thread. */
function revive(error: JobError): Error {
  const revived =
    error.name === 'MailboxGoneError'
      ? new MailboxGoneError(error.message)
      : error.name === 'UsernameTakenError'
        ? new UsernameTakenError(error.message)
        : Object.assign(new Error(error.message), { name: error.name });
  if (error.code) Object.assign(revived, { code: error.code });
  return revived;
}

function settleWith(
  resolve: (value: unknown) => void,
  reject: (error: Error) => void,
  outcome: Outcome,
): void {
  if (outcome.ok) resolve(outcome.value);
  else reject(revive(outcome.error));
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export class WriterStoppedError extends Error {
  override name = 'WriterStoppedError';
}

class ThreadWriter implements Writer {
  readonly buffers = new ChunkBuffers();
  private worker: Worker | undefined;
  private starting: Promise<Worker> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  private constructor(private readonly settings: WriterSettings) {}

  static async start(settings: WriterSettings): Promise<ThreadWriter> {
    const writer = new ThreadWriter(settings);
    await writer.ensure();
    return writer;
  }

  async submit<K extends JobName>(job: JobOf<K>): Promise<JobResults[K]> {
    if (this.closed) throw new WriterStoppedError('the store is closed');
    const worker = await this.ensure();
    const id = this.nextId++;
    return new Promise<JobResults[K]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      // The thread keeps the process alive only while a write is waiting for its answer.
      if (this.pending.size === 1) worker.ref();
      // The chunks are moved, not copied: their buffers are the job's own (chunks.ts).
      const message: ToWorker = { id, job: job as Job };
      worker.postMessage(message, chunkBuffersOf(message.job));
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = await this.starting?.catch(() => undefined);
    if (!worker) return;
    worker.ref();
    await new Promise<void>((resolve) => {
      worker.on('message', (message: FromWorker) => {
        if ('closed' in message) resolve();
      });
      worker.once('exit', () => resolve());
      worker.postMessage({ close: true } satisfies ToWorker);
    });
    await worker.terminate();
  }

  /**
   * The running thread, or a new one: a thread that died (it should not) fails what it was
   * running — the callers answer 4xx — and the next write starts another.
   */
  private ensure(): Promise<Worker> {
    if (this.worker) return Promise.resolve(this.worker);
    this.starting ??= this.spawn().then(
      (worker) => (this.worker = worker),
      (error: unknown) => {
        this.starting = undefined;
        throw error;
      },
    );
    return this.starting;
  }

  private spawn(): Promise<Worker> {
    const worker = new Worker(join(__dirname, 'worker.js'), { workerData: this.settings });
    worker.unref();
    return new Promise<Worker>((resolve, reject) => {
      worker.on('message', (message: FromWorker) => {
        if ('ready' in message) resolve(worker);
        else if ('failed' in message) reject(revive(message.failed));
        else if ('id' in message) {
          for (const buffer of message.buffers) this.buffers.give(buffer);
          const pending = this.pending.get(message.id);
          if (!pending) return;
          this.pending.delete(message.id);
          if (this.pending.size === 0) worker.unref();
          settleWith(pending.resolve, pending.reject, message.outcome);
        }
      });
      worker.once('error', reject);
      worker.once('exit', (code) => {
        reject(new WriterStoppedError(`the store writer exited (${code})`));
        if (this.worker === worker) {
          this.worker = undefined;
          this.starting = undefined;
        }
        for (const [id, pending] of this.pending) {
          this.pending.delete(id);
          pending.reject(new WriterStoppedError('the store writer stopped'));
        }
      });
    });
  }
}

/** The same writer on the caller's thread: each commit blocks it (for the comparison only). */
class InlineWriter implements Writer {
  readonly buffers = new ChunkBuffers();
  private readonly queue: JobQueue<Pending>;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly db: Connection,
    private readonly writes: Writes,
    private readonly settings: WriterSettings,
  ) {
    this.queue = new JobQueue<Pending>(
      (jobs) => writes.runAll(jobs, settings.group),
      (pending, outcome, job) => {
        for (const buffer of reusable(job)) this.buffers.give(buffer);
        settleWith(pending.resolve, pending.reject, outcome);
      },
    );
    const maintain = (): void => {
      const job = {
        op: 'maintain',
        vacuumFreePages: settings.vacuumFreePages,
        checkpointBusyMs: 1000,
      } as const;
      this.queue.push(job, { resolve: () => undefined, reject: () => undefined });
    };
    this.timer = setInterval(maintain, settings.maintenanceMs).unref();
  }

  static async start(settings: WriterSettings): Promise<InlineWriter> {
    const db = openConnection(settings.file, {
      busyTimeoutMs: settings.busyTimeoutMs,
      create: true,
    });
    return new InlineWriter(db, new Writes(db), settings);
  }

  submit<K extends JobName>(job: JobOf<K>): Promise<JobResults[K]> {
    return new Promise<JobResults[K]>((resolve, reject) =>
      this.queue.push(job as Job, { resolve: resolve as (value: unknown) => void, reject }),
    );
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.queue.drain();
    this.writes.runAll(
      [{ op: 'maintain', vacuumFreePages: this.settings.vacuumFreePages, checkpointBusyMs: 5000 }],
      false,
    );
    this.db.close();
  }
}
