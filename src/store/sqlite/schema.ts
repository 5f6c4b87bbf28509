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
 * - `cache_size`, on the writer's connection only, for the file and for its temporary file:
 *   WRITER_CACHE_KIB, not better-sqlite3's 16 MB. The writer writes chunks it never reads again
 *   (a large message's staged ones once, to copy them): a large cache only filled up with their
 *   pages, up to 16 MB in each of the two: 23 to 29 MiB of Haraka's peak for a 25 MB message
 *   (docs/BENCHMARKS.md, "Memory for a 25 MB message"). What it does read again, the users'
 *   rows and the tables' upper pages, fits in far less.
 */
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type Connection = Database.Database;

/**
 * Bumped with every change to the tables below; a newer file than the code is refused, an older
 * one is brought up to date by the writer that opens it (createTables).
 *
 * 1: users, messages, chunks. 2: the forwarding columns of users, forward_leases and
 * forward_refusals (push delivery, src/forward/), and users.send_enabled and sign_as_nym (sending
 * as the nym, src/submission/; the two came in the same release). 3: users.last_fetch_day (`kzymy user show`),
 * and the indexes the metrics' totals and the shared-key count are read from. 4:
 * users.payload_format, what her decrypted mail looks like (src/pgp/protected-payload.ts).
 */
export const SCHEMA_VERSION = 4;

/**
 * Ids are 12 random bytes (24 hex digits outside), the shape of a MongoDB ObjectId, so that
 * `kzymy store copy` moves users and messages to MongoDB under the same ids. The quota's
 * stored-bytes total is a column moved in the same transaction as every store and delete.
 * Chunks are rows of at most CHUNK_BYTES, so a 35 MB message is stored, read and deleted piece by
 * piece like any other.
 *
 * `users.state` is pending, active, disabled (`kzymy user disable`) or deleting, with no CHECK:
 * a delivery takes a UID only from an active user (writes.ts).
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
  send_enabled INTEGER NOT NULL DEFAULT 0,
  sign_as_nym INTEGER NOT NULL DEFAULT 0
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
CREATE TABLE IF NOT EXISTS forward_leases (
  user_id BLOB NOT NULL,
  message_id BLOB NOT NULL,
  holder TEXT NOT NULL,
  until INTEGER NOT NULL,
  PRIMARY KEY (user_id, message_id)
);
CREATE TABLE IF NOT EXISTS forward_refusals (
  user_id BLOB NOT NULL,
  message_id BLOB NOT NULL,
  at INTEGER NOT NULL,
  code INTEGER NOT NULL,
  status TEXT,
  PRIMARY KEY (user_id, message_id)
);
`;

/**
 * Indexes made after the columns they cover may have been added (addMissingColumns). The
 * forwarding worker's scan for users whose mail is forwarded reads only those. The metrics'
 * totals are counts over indexes, never a read of the tables (schema 3): accounts per state over
 * users_state_created, messages and their bytes over messages_size (a few bytes a message, where
 * a table row is tens); users_fingerprint answers "how many accounts share this key".
 */
const INDEXES_SINCE_1 = `
CREATE INDEX IF NOT EXISTS users_forward_state ON users (forward_state)
  WHERE forward_state IS NOT NULL;
CREATE INDEX IF NOT EXISTS users_fingerprint ON users (fingerprint, state);
CREATE INDEX IF NOT EXISTS messages_size ON messages (size);
`;

/**
 * Columns added since the first release of the tables, last in their table both in a new file
 * (TABLES) and in one an older kzymy wrote, where the writer adds them when it opens the file
 * (ALTER TABLE ADD COLUMN gives every existing row the default, without rewriting it).
 */
const ADDED_COLUMNS: readonly { table: string; column: string; definition: string }[] = [
  // Sending as the nym (docs/sending.md): users from before it have both switches off.
  { table: 'users', column: 'send_enabled', definition: 'INTEGER NOT NULL DEFAULT 0' },
  { table: 'users', column: 'sign_as_nym', definition: 'INTEGER NOT NULL DEFAULT 0' },
  // Push delivery (src/forward/), schema 2: all NULL while a user does not forward her mail —
  // the destination, its MX host, 'pending' or 'active', the code's hash and expiry while
  // pending, and the destination's last permanent refusal.
  { table: 'users', column: 'forward_address', definition: 'TEXT' },
  { table: 'users', column: 'forward_host', definition: 'TEXT' },
  { table: 'users', column: 'forward_state', definition: 'TEXT' },
  { table: 'users', column: 'forward_code_hash', definition: 'TEXT' },
  { table: 'users', column: 'forward_code_expires_at', definition: 'INTEGER' },
  { table: 'users', column: 'forward_failure_at', definition: 'INTEGER' },
  { table: 'users', column: 'forward_failure_code', definition: 'INTEGER' },
  { table: 'users', column: 'forward_failure_status', definition: 'TEXT' },
  // Schema 3: the UTC day of the last mailbox login (`kzymy user show`), NULL before the first;
  // a day, never a time.
  { table: 'users', column: 'last_fetch_day', definition: 'TEXT' },
  // Schema 4: the payload format (src/pgp/protected-payload.ts); users from before it keep the
  // default, as on the mongodb engine, where a user without the field reads as 'protected'.
  {
    table: 'users',
    column: 'payload_format',
    definition:
      "TEXT NOT NULL DEFAULT 'protected' CHECK (payload_format IN ('protected', 'exact'))",
  },
];

/** A chunk: small enough that reading one on the main thread is a fraction of a millisecond. */
export const CHUNK_BYTES = 256 * 1024;

export interface OpenOptions {
  /** How long a writer waits for another process's write transaction before it fails. */
  busyTimeoutMs: number;
  /** The connection that creates the tables when the file is new (the writer). */
  create: boolean;
}

/** SQLite's own default cache (https://sqlite.org/pragma.html#pragma_cache_size). */
const WRITER_CACHE_KIB = 2000;

/** How long opening a connection waits for another process's lock. */
const OPEN_BUSY_TIMEOUT_MS = 10_000;

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
  // Opening waits for other processes (one may be recovering the log after a crash) even when
  // the connection will not wait later: a reader then waits asynchronously (reads.ts).
  const db = new Database(file, {
    timeout: Math.max(options.busyTimeoutMs, OPEN_BUSY_TIMEOUT_MS),
    fileMustExist: !options.create,
  });
  try {
    if (options.create) {
      // Before anything creates a table: it is fixed when the first page is written. Both are
      // settings of the file, which only the writer makes.
      db.pragma('auto_vacuum = INCREMENTAL');
      db.pragma('journal_mode = WAL');
    }
    db.pragma('synchronous = FULL');
    db.pragma('secure_delete = ON');
    db.pragma('temp_store = FILE');
    if (options.create) {
      createTables(db);
      db.pragma(`cache_size = -${WRITER_CACHE_KIB}`);
      db.pragma(`temp.cache_size = -${WRITER_CACHE_KIB}`);
    } else db.pragma('query_only = ON');
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs))}`);
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
    addMissingColumns(db);
    db.exec(INDEXES_SINCE_1);
    if (version < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/** Inside createTables' transaction, so two processes upgrading one file add each column once. */
function addMissingColumns(db: Connection): void {
  for (const { table, column, definition } of ADDED_COLUMNS) {
    const columns = db.pragma(`table_info(${table})`) as { name: string }[];
    if (!columns.some((existing) => existing.name === column))
      db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
  }
}
