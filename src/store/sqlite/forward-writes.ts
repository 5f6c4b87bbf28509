/**
 * The forwarding worker's writes on the SQLite engine, run by the writer (writes.ts) inside its
 * transaction like every other job.
 *
 * A claim is an INSERT into forward_leases, whose primary key (user, message) admits one lease
 * per message: of any number of claims, across threads and processes, one inserts and the others
 * find the row. A lease whose holder died (its end has passed) is taken over by an UPDATE that
 * names that end, in the same transaction; every write transaction of every process begins
 * IMMEDIATE (writes.ts), so they run one after the other, and the first successor's new end
 * makes the others' UPDATE match nothing. No takeover record is needed, as the mongodb engine's
 * is (docs/decisions/0007-forward-claims.md).
 */
import type { Statement } from 'better-sqlite3';
import type { ForwardEntry, JobArgs } from './jobs';
import { parseId } from './rows';
import type { Connection } from './schema';

export class ForwardWrites {
  private readonly sql: ReturnType<typeof prepare>;

  constructor(db: Connection) {
    this.sql = prepare(db);
  }

  claim(job: JobArgs['forwardClaim']): boolean {
    const key = this.key(job.userId, job.messageId);
    if (!key) return false;
    const lease = { ...key, holder: job.holder, until: job.until, now: job.now };
    if (this.sql.insertLease.run(lease).changes === 1) return true;
    return this.sql.takeOverLease.run(lease).changes === 1;
  }

  release(job: JobArgs['forwardRelease']): null {
    const key = this.key(job.userId, job.messageId);
    if (key) this.sql.releaseLease.run({ ...key, holder: job.holder });
    return null;
  }

  /** The refusal is written before the lease goes, so whoever claims next finds it. */
  refuse(job: JobArgs['forwardRefuse']): null {
    const key = this.key(job.userId, job.messageId);
    if (!key) return null;
    this.sql.insertRefusal.run({ ...key, ...job.failure });
    this.sql.releaseLease.run({ ...key, holder: job.holder });
    return null;
  }

  forget(userId: string): number {
    const user = parseId(userId);
    return user ? this.sql.forgetRefusals.run(user).changes : 0;
  }

  /** Every lease and refusal of a user (her deletion; writes.ts calls it in the same job). */
  purge(user: Buffer): void {
    this.sql.purgeLeases.run(user);
    this.sql.purgeRefusals.run(user);
  }

  remove(entries: readonly ForwardEntry[]): number {
    let removed = 0;
    for (const entry of entries) {
      const key = this.key(entry.userId, entry.messageId);
      if (!key) continue;
      const statement = entry.kind === 'lease' ? this.sql.removeLease : this.sql.removeRefusal;
      removed += statement.run(key).changes;
    }
    return removed;
  }

  private key(userId: string, messageId: string): { user: Buffer; message: Buffer } | null {
    const user = parseId(userId);
    const message = parseId(messageId);
    return user && message ? { user, message } : null;
  }
}

function prepare(db: Connection) {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    insertLease: p(`INSERT INTO forward_leases (user_id, message_id, holder, until)
      VALUES (@user, @message, @holder, @until) ON CONFLICT (user_id, message_id) DO NOTHING`),
    takeOverLease: p(`UPDATE forward_leases SET holder = @holder, until = @until
      WHERE user_id = @user AND message_id = @message AND until <= @now`),
    releaseLease: p(
      'DELETE FROM forward_leases WHERE user_id = @user AND message_id = @message AND holder = @holder',
    ),
    // The first refusal of a message stays (as on mongodb, whose refusal is an insert by _id).
    insertRefusal: p(`INSERT INTO forward_refusals (user_id, message_id, at, code, status)
      VALUES (@user, @message, @at, @code, @status) ON CONFLICT (user_id, message_id) DO NOTHING`),
    forgetRefusals: p('DELETE FROM forward_refusals WHERE user_id = ?'),
    purgeLeases: p('DELETE FROM forward_leases WHERE user_id = ?'),
    purgeRefusals: p('DELETE FROM forward_refusals WHERE user_id = ?'),
    removeLease: p('DELETE FROM forward_leases WHERE user_id = @user AND message_id = @message'),
    removeRefusal: p(
      'DELETE FROM forward_refusals WHERE user_id = @user AND message_id = @message',
    ),
  };
}
