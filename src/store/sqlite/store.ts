/**
 * The SQLite engine: the embedded default for one machine (docs/decisions/0005). One file under
 * the data directory, opened by every process of the machine; in each, a writer thread for the
 * writes (writer.ts) and a read connection on the caller's thread (reads.ts).
 */
import type { Store } from '../store';
import { SqliteForwardClaims } from './forwards';
import { prepareReads } from './reads';
import { SqliteMessageStore } from './messages';
import { openConnection, type Connection } from './schema';
import { SqliteUserStore } from './users';
import { startWriter, type CommitMode, type Writer } from './writer';

export interface SqliteStoreOptions {
  /** The database file; created (with its folder) if missing. */
  file: string;
  clock?: () => Date;
  /** Where commits run (writer.ts); the default is right for production. */
  commit?: CommitMode;
  /**
   * How long a write waits for another process's write transaction before it fails (and SMTP
   * answers 4xx). Deliveries queue behind each other within it rather than being refused.
   */
  busyTimeoutMs?: number;
  /** How often the log is checkpointed and truncated and free pages reclaimed (default 60 s). */
  maintenanceSeconds?: number;
  /** Free pages are given back to the file system once at least this many are free. */
  vacuumFreePages?: number;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 60_000;
export const DEFAULT_MAINTENANCE_SECONDS = 60;
/** 1 MiB of 4 KiB pages. */
export const DEFAULT_VACUUM_FREE_PAGES = 256;

export class SqliteStore implements Store {
  readonly engine = 'sqlite';

  private constructor(
    private readonly reader: Connection,
    private readonly writer: Writer,
    readonly users: SqliteUserStore,
    readonly messages: SqliteMessageStore,
    readonly forwards: SqliteForwardClaims,
    private readonly ping_: () => void,
  ) {}

  static async open(options: SqliteStoreOptions): Promise<SqliteStore> {
    // The writer creates the file and its tables; the reader opens what exists.
    const writer = await startWriter(options.commit ?? 'worker', {
      file: options.file,
      busyTimeoutMs: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
      group: !(options.commit ?? 'worker').endsWith('-single'),
      maintenanceMs: (options.maintenanceSeconds ?? DEFAULT_MAINTENANCE_SECONDS) * 1000,
      vacuumFreePages: options.vacuumFreePages ?? DEFAULT_VACUUM_FREE_PAGES,
    });
    let reader: Connection;
    try {
      // busy_timeout 0: a busy reader waits asynchronously (reads.ts), never on the event loop.
      reader = openConnection(options.file, { busyTimeoutMs: 0, create: false });
    } catch (error) {
      await writer.close();
      throw error;
    }
    const reads = prepareReads(reader);
    const clock = options.clock ?? (() => new Date());
    return new SqliteStore(
      reader,
      writer,
      new SqliteUserStore(reads, writer, clock),
      new SqliteMessageStore(reads, writer),
      new SqliteForwardClaims(reads, writer, clock),
      () => reads.ping.get(),
    );
  }

  deleteUser(userId: string): Promise<boolean> {
    // One transaction: the user, her messages and their ciphertext, her forwarding leases and
    // refusals go together, and a delivery (which checks the user inside its own transaction) is
    // either before it or finds no one.
    return this.writer.submit({ op: 'deleteUser', userId });
  }

  async ping(): Promise<void> {
    this.ping_();
  }

  /** Checkpoints and reclaims now (what the writer does on its schedule); for tests and tools. */
  maintain(): Promise<{ truncated: boolean; reclaimedPages: number }> {
    return this.writer.submit({ op: 'maintain', vacuumFreePages: 1, checkpointBusyMs: 5000 });
  }

  async close(): Promise<void> {
    this.reader.close();
    await this.writer.close();
  }
}
