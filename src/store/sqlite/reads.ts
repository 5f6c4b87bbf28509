/**
 * The SQLite engine's reads, on a read-only connection of the caller's own thread. In WAL mode a
 * reader never waits for a writer: each statement reads the last commit as it was when the
 * statement began. A read is an index lookup, or one chunk of at most CHUNK_BYTES copied out of
 * the page cache — tens to hundreds of microseconds, less than handing it to another thread
 * would cost (docs/decisions/0005). The rare SQLITE_BUSY (another process recovering the log
 * after a crash) is waited out off the thread: never a blocking busy wait on the event loop.
 */
import type { Statement } from 'better-sqlite3';
import type { Connection } from './schema';

const RETRY_FIRST_MS = 2;
const RETRY_MAX_MS = 100;
const RETRY_TOTAL_MS = 10_000;

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_RECOVERY' || code === 'SQLITE_LOCKED';
}

/** Reads run back to back in one turn of the event loop for at most this long… */
const TURN_BUDGET_MS = 4;
let turnStarted = 0;
let turnOpen = false;

/** …then the next one waits for the next turn, so that a long run of reads lets I/O through. */
function turnSpent(): boolean {
  const now = performance.now();
  if (!turnOpen) {
    turnOpen = true;
    turnStarted = now;
    setImmediate(() => (turnOpen = false));
  }
  return now - turnStarted > TURN_BUDGET_MS;
}

/**
 * Runs a read, trying again a little later while the file is busy. The read itself is
 * synchronous; a caller that awaits reads in a loop (a FETCH of a whole mailbox) would otherwise
 * never hand the thread back, so reads take turns with everything else after TURN_BUDGET_MS.
 */
export async function read<T>(run: () => T): Promise<T> {
  if (turnSpent()) await new Promise((resolve) => setImmediate(resolve));
  const deadline = Date.now() + RETRY_TOTAL_MS;
  for (let delay = RETRY_FIRST_MS; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
    try {
      return run();
    } catch (error) {
      if (!isBusy(error) || Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** Every statement the readers run, prepared once per connection. */
export function prepareReads(db: Connection) {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    ping: p('SELECT 1'),
    userById: p('SELECT * FROM users WHERE id = ?'),
    userByName: p('SELECT * FROM users WHERE username = ?'),
    users: p('SELECT * FROM users ORDER BY username'),
    pendingBefore: p(
      `SELECT * FROM users WHERE state = 'pending' AND created_at < ? ORDER BY created_at`,
    ),
    // Counts over indexes only (schema.ts): users_state_created, users_fingerprint, messages_size.
    countByState: p('SELECT state, COUNT(*) AS n FROM users GROUP BY state'),
    countWithFingerprint: p(
      `SELECT COUNT(*) AS n FROM users WHERE fingerprint = ? AND state IN ('active', 'disabled')`,
    ),
    totals: p('SELECT COUNT(*) AS messages, COALESCE(SUM(size), 0) AS bytes FROM messages'),
    messages: p('SELECT * FROM messages WHERE user_id = ? ORDER BY uid'),
    usedBytes: p('SELECT used_bytes FROM users WHERE id = ?'),
    sumBytes: p('SELECT COALESCE(SUM(size), 0) AS bytes FROM messages WHERE user_id = ?'),
    count: p('SELECT COUNT(*) AS n FROM messages WHERE user_id = ?'),
    byUid: p('SELECT * FROM messages WHERE user_id = ? AND uid = ?'),
    exists: p('SELECT 1 FROM messages WHERE id = ? AND user_id = ?'),
    // One statement, so one snapshot: the owner check and the chunks agree.
    chunks: p(`SELECT c.data FROM chunks c JOIN messages m ON m.id = c.message_id
      WHERE c.message_id = ? AND m.user_id = ? AND c.n BETWEEN ? AND ? ORDER BY c.n`),
    fetchedBefore: p(
      'SELECT * FROM messages WHERE fetched_at IS NOT NULL AND fetched_at < ? LIMIT ?',
    ),
    arrivedBefore: p('SELECT * FROM messages WHERE arrived_at < ? LIMIT ?'),
    forwardingUsers: p(`SELECT id FROM users WHERE forward_state = 'active'`),
    forwardRefusal: p(
      'SELECT at, code, status FROM forward_refusals WHERE user_id = ? AND message_id = ?',
    ),
    forwardRefusedCount: p('SELECT COUNT(*) AS n FROM forward_refusals WHERE user_id = ?'),
    forwardEntries: p(`SELECT 'lease' AS kind, user_id, message_id FROM forward_leases
      UNION ALL SELECT 'refused' AS kind, user_id, message_id FROM forward_refusals`),
  };
}

export type Reads = ReturnType<typeof prepareReads>;
