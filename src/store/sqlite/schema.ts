/**
 * The SQLite engine's file: how a connection is opened and what the file holds.
 *
 * One file under the data directory, shared by every process of the machine (Haraka's and the
 * daemon's), each opening its own connections. The settings that make a 250 mean something and
 * a delete mean deleted are set on every connection, because most of them are per connection:
 *
 * - `journal_mode=WAL`: readers never wait for a writer, and a commit is one append to the log.
 * - `synchronous=FULL`: the log is synced at every commit, so a commit that returned survives
 *   a crash or a power loss. (better-sqlite3 is built with SQLITE_DEFAULT_WAL_SYNCHRONOUS=1,
 *   NORMAL, which can lose the last commits on power loss: it must be set after WAL.)
 * - `secure_delete=ON`: deleted rows and freed pages are overwritten with zeros, not just
 *   unlinked (https://sqlite.org/pragma.html#pragma_secure_delete).
 * - `auto_vacuum=INCREMENTAL`, which only takes effect when set before the first table is
 *   created: free pages can then be given back to the file system (maintenance.ts).
 * - `temp_store=FILE`: a large ciphertext staged while it is encrypted (writes.ts) goes to an
 *   unlinked temporary file, not to memory.
 */
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type Connection = Database.Database;

/**
 * Bumped with every change to the tables below; a newer file than the code is refused, an older
 * one is brought up to date (UPGRADES) by the first writer that opens it.
 *
 * 1. users, messages, chunks.
 * 2. users.payload_format: what her decrypted mail looks like (src/pgp/protected-payload.ts).
 */
export const SCHEMA_VERSION = 2;

/**
 * Ids are 12 random bytes (24 hex digits outside), the shape of a MongoDB ObjectId, so that
 * `kzymy store copy` moves users and messages to MongoDB under the same ids. The quota's
 * stored-bytes total is a column moved in the same transaction as every store and delete.
 * Chunks are rows of at most CHUNK_BYTES, so a 35 MB message is stored, read and deleted piece by
 * piece like any other.
 */
const TABLES = `
CREATE TABLE IF NOT EXISTS users (
  id BLOB PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  public_key TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  catch_all INTEGER NOT NULL,
  allowed TEXT NOT NULL,
  disabled TEXT NOT NULL,
  uid_validity INTEGER NOT NULL,
  uid_next INTEGER NOT NULL,
  used_bytes INTEGER NOT NULL,
  payload_format TEXT NOT NULL DEFAULT 'protected' CHECK (payload_format IN ('protected', 'exact'))
);
CREATE INDEX IF NOT EXISTS users_state_created ON users (state, created_at);
CREATE TABLE IF NOT EXISTS messages (
  id BLOB PRIMARY KEY,
  user_id BLOB NOT NULL,
  uid INTEGER NOT NULL,
  arrived_at INTEGER NOT NULL,
  size INTEGER NOT NULL,
  flags TEXT NOT NULL,
  fetched_at INTEGER,
  UNIQUE (user_id, uid)
);
CREATE INDEX IF NOT EXISTS messages_arrived ON messages (arrived_at);
CREATE INDEX IF NOT EXISTS messages_fetched ON messages (fetched_at) WHERE fetched_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS chunks (
  message_id BLOB NOT NULL,
  n INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (message_id, n)
);
`;

/** A chunk: small enough that reading one on the main thread is a fraction of a millisecond. */
export const CHUNK_BYTES = 256 * 1024;

export interface OpenOptions {
  /** How long a writer waits for another process's write transaction before it fails. */
  busyTimeoutMs: number;
  /** The connection that creates the tables when the file is new (the writer). */
  create: boolean;
}

export class SchemaVersionError extends Error {
  override name = 'SchemaVersionError';
}

export function openConnection(file: string, options: OpenOptions): Connection {
  if (options.create) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // Created 0600 before SQLite sees it: its -wal and -shm files take the same mode.
    closeSync(openSync(file, 'a', 0o600));
    chmodSync(file, 0o600);
  }
  const db = new Database(file, { timeout: options.busyTimeoutMs, fileMustExist: !options.create });
  try {
    // Before anything creates a table: it is fixed when the first page is written. Only on the
    // connection that creates: on a file that has tables this pragma opens a write transaction
    // (to record INCREMENTAL over FULL), and a reader, which waits for no lock (busy_timeout 0),
    // would fail to open while another process is delivering.
    if (options.create) db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('secure_delete = ON');
    db.pragma('temp_store = FILE');
    if (options.create) createTables(db);
    else db.pragma('query_only = ON');
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function createTables(db: Connection): void {
  // IMMEDIATE: two processes opening a new file at once create the tables one after the other.
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION)
      throw new SchemaVersionError(
        `the store file has schema ${version}, newer than this kzymy (${SCHEMA_VERSION})`,
      );
    db.exec(TABLES);
    if (version < SCHEMA_VERSION) {
      for (const upgrade of UPGRADES) upgrade(db);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }
  }).immediate();
}

/**
 * What a file made by an older kzymy lacks, added in place. Each step checks the file itself
 * rather than its version number, so it is harmless on a file that already has what it adds
 * (one created from TABLES above).
 */
const UPGRADES: readonly ((db: Connection) => void)[] = [
  // 2: the payload format; users from before it keep the default, as on the mongodb engine.
  (db) => {
    if (!hasColumn(db, 'users', 'payload_format'))
      db.exec(`ALTER TABLE users ADD COLUMN payload_format TEXT NOT NULL DEFAULT 'protected'
        CHECK (payload_format IN ('protected', 'exact'))`);
  },
];

function hasColumn(db: Connection, table: string, column: string): boolean {
  const columns = db.pragma(`table_info(${table})`) as { name: string }[];
  return columns.some((c) => c.name === column);
}
