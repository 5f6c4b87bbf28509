/**
 * The SQLite engine's writes, run by the one writer connection of a process (writer.ts).
 *
 * A delivery is one transaction: the user is checked (active, same key), her next UID taken,
 * the metadata, every chunk of ciphertext and the quota total written, all committed together.
 * So a message is visible whole or not at all, UIDs become visible in the order they are taken
 * (the write lock is held from the UID to the commit; RFC 3501 §2.3.1.1 "strictly ascending"),
 * and a crash at any point leaves nothing half-written: no lock, usage cache or upload marker as
 * on the mongodb engine. A large message arrives while it is still encrypted: its chunks wait in
 * a private temporary table (`temp.staged`, an unlinked file), and its transaction copies them.
 *
 * Jobs that arrive together are committed together (group commit, docs/decisions/0005): each
 * in its own savepoint, so one that fails is undone alone, and the group costs one sync.
 */
import { randomInt } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import { isReservedUsername, randomUsername } from '../../addresses/username';
import { MailboxGoneError, UsernameTakenError } from '../errors';
import type { StoredMessage, User } from '../types';
import {
  isStaging,
  type Job,
  type JobArgs,
  type JobError,
  type JobResults,
  type MaintenanceReport,
  type Outcome,
  type UserChange,
} from './jobs';
import { forwardColumns, NO_FORWARD } from './forward-rows';
import { ForwardWrites } from './forward-writes';
import { newId, parseId, parseIds, toUser, type UserRow } from './rows';
import type { Connection } from './schema';

const STAGING = `CREATE TEMP TABLE IF NOT EXISTS staged (
  stage INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (stage, n))`;

/** A switch as SQLite stores it; absent (leave it as it is) is NULL. */
function flag(value: boolean | undefined): number | null {
  return value === undefined ? null : value ? 1 : 0;
}

function blob(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export class Writes {
  private readonly sql: ReturnType<typeof prepare>;
  private readonly forwards: ForwardWrites;

  constructor(private readonly db: Connection) {
    db.exec(STAGING);
    this.sql = prepare(db);
    this.forwards = new ForwardWrites(db);
  }

  /**
   * Runs jobs as they arrived: staging ones on their own (they touch only the temporary table),
   * the rest in one transaction when `group`, else one transaction each.
   */
  runAll(jobs: readonly Job[], group: boolean): Outcome[] {
    const outcomes: Outcome[] = new Array<Outcome>(jobs.length);
    const shared: number[] = [];
    jobs.forEach((job, i) => {
      if (isStaging(job) || job.op === 'maintain') outcomes[i] = this.alone(job);
      else if (group) shared.push(i);
      else outcomes[i] = this.inTransaction([job])[0] as Outcome;
    });
    if (shared.length > 0) {
      const results = this.inTransaction(shared.map((i) => jobs[i] as Job));
      shared.forEach((i, k) => (outcomes[i] = results[k] as Outcome));
    }
    // A staged ciphertext has been copied (or its delivery failed): either way it goes now.
    for (const job of jobs)
      if (job.op === 'deliver' && job.stage !== undefined) this.sql.stageDrop.run(job.stage);
    return outcomes;
  }

  private alone(job: Job): Outcome {
    try {
      return { ok: true, value: this.run(job) };
    } catch (error) {
      return { ok: false, error: toJobError(error) };
    }
  }

  /**
   * One write transaction for all `jobs`. BEGIN IMMEDIATE takes the write lock first, waiting
   * (busy_timeout) for another process's transaction rather than failing, so concurrent
   * deliveries queue instead of being refused; each job runs in a savepoint of its own.
   */
  private inTransaction(jobs: readonly Job[]): Outcome[] {
    try {
      this.sql.begin.run();
    } catch (error) {
      const failed = toJobError(error);
      return jobs.map(() => ({ ok: false, error: failed }));
    }
    let aborted: JobError | undefined;
    const outcomes = jobs.map((job): Outcome => {
      // An error that ended the whole transaction (SQLite rolls back by itself on some, such as
      // a full disk) fails the jobs after it too.
      if (aborted) return { ok: false, error: aborted };
      this.sql.savepoint.run();
      try {
        const value = this.run(job);
        this.sql.release.run();
        return { ok: true, value };
      } catch (error) {
        if (this.db.inTransaction) {
          this.sql.rollbackTo.run();
          this.sql.release.run();
        } else {
          aborted = toJobError(error);
        }
        return { ok: false, error: toJobError(error) };
      }
    });
    try {
      if (aborted) throw new Error(aborted.message);
      this.sql.commit.run();
      return outcomes;
    } catch (error) {
      if (this.db.inTransaction) this.sql.rollback.run();
      const failed = aborted ?? toJobError(error);
      return jobs.map(() => ({ ok: false, error: failed }));
    }
  }

  run(job: Job): JobResults[Job['op']] {
    switch (job.op) {
      case 'createUser':
        return this.createUser(job);
      case 'updateUser':
        return this.updateUser(job.userId, job.change);
      case 'deliver':
        return this.deliver(job);
      case 'stageAppend':
        this.sql.stageAppend.run(job.stage, job.n, blob(job.data));
        return null;
      case 'stageDrop':
        this.sql.stageDrop.run(job.stage);
        return null;
      case 'markFetched':
        for (const id of parseIds(job.messageIds)) {
          this.sql.markFetched.run({ at: job.at, id, user: parseId(job.userId) });
        }
        return null;
      case 'setFlags': {
        const user = parseId(job.userId);
        const flags = JSON.stringify(job.flags);
        let matched = 0;
        for (const id of parseIds(job.messageIds))
          matched += this.sql.setFlags.run(flags, id, user).changes;
        return matched;
      }
      case 'remove':
        return this.remove(job.userId, job.messageIds);
      case 'purgeUser':
        this.purge(parseId(job.userId));
        return null;
      case 'deleteUser': {
        const user = parseId(job.userId);
        if (!user) return false;
        this.purge(user);
        this.forwards.purge(user);
        return this.sql.deleteUser.run(user).changes === 1;
      }
      case 'maintain':
        return this.maintain(job);
      case 'forwardClaim':
        return this.forwards.claim(job);
      case 'forwardRelease':
        return this.forwards.release(job);
      case 'forwardRefuse':
        return this.forwards.refuse(job);
      case 'forwardForget':
        return this.forwards.forget(job.userId);
      case 'forwardPurge': {
        const user = parseId(job.userId);
        if (user) this.forwards.purge(user);
        return null;
      }
      case 'forwardRemove':
        return this.forwards.remove(job.entries);
    }
  }

  private createUser({ input, createdAt }: JobArgs['createUser']): User {
    for (let attempt = 0; attempt < 16; attempt++) {
      const username = input.username ?? randomUsername();
      if (isReservedUsername(username)) throw new UsernameTakenError('that username is reserved');
      const row: UserRow = {
        id: newId(),
        username,
        state: input.state,
        fingerprint: input.fingerprint,
        public_key: input.publicKey,
        password_hash: input.passwordHash,
        created_at: createdAt,
        catch_all: 1,
        allowed: '[]',
        disabled: '[]',
        send_enabled: 0,
        sign_as_nym: 0,
        // Any positive 32-bit value (RFC 3501 §2.3.1.1 nz-number); random so that a user
        // recreated under the same name never matches a client's cached UIDVALIDITY.
        uid_validity: randomInt(1, 2 ** 31),
        uid_next: 1,
        used_bytes: 0,
        last_fetch_day: null,
        ...NO_FORWARD,
        payload_format: 'protected',
      };
      // The unique username decides a race; a random name that collides (rare at 54 bits) is
      // simply drawn again.
      if (this.sql.insertUser.run(row).changes === 1) return toUser(row);
      if (input.username) throw new UsernameTakenError('that username is taken');
    }
    throw new Error('could not allocate a unique username');
  }

  private updateUser(userId: string, change: UserChange): boolean {
    const id = parseId(userId);
    if (!id) return false;
    const sql = this.sql;
    switch (change.kind) {
      case 'activate':
        return sql.activate.run(id).changes === 1;
      case 'markDeleting':
        return sql.setState.run('deleting', id).changes === 1;
      case 'disableAccount':
        return sql.changeState.run('disabled', id, 'active').changes === 1;
      case 'enableAccount':
        return sql.changeState.run('active', id, 'disabled').changes === 1;
      case 'fetchDay':
        return sql.setFetchDay.run(change.day, id).changes === 1;
      case 'passwordHash':
        return sql.setPasswordHash.run(change.passwordHash, id).changes === 1;
      case 'key':
        return sql.setKey.run(change.fingerprint, change.publicKey, id).changes === 1;
      case 'catchAll':
        return sql.setCatchAll.run(change.catchAll ? 1 : 0, id).changes === 1;
      case 'payloadFormat':
        return sql.setPayloadFormat.run(change.format, id).changes === 1;
      case 'sending':
        // NULL keeps a switch as it is (COALESCE); with neither given, this only finds the user.
        return sql.setSending.run(flag(change.enabled), flag(change.signAsNym), id).changes === 1;
      case 'allow':
      case 'disable':
      case 'forget': {
        const row = sql.policy.get(id) as { allowed: string; disabled: string } | undefined;
        if (!row) return false;
        const part = change.local.toLowerCase();
        // The last word wins: a part is in at most one of the two lists.
        const allowed = (JSON.parse(row.allowed) as string[]).filter((p) => p !== part);
        const disabled = (JSON.parse(row.disabled) as string[]).filter((p) => p !== part);
        if (change.kind === 'allow') allowed.push(part);
        if (change.kind === 'disable') disabled.push(part);
        sql.setPolicy.run(JSON.stringify(allowed), JSON.stringify(disabled), id);
        return true;
      }
      case 'forward':
        return sql.setForward.run({ ...forwardColumns(change.forward), id }).changes === 1;
      case 'forwardFailure': {
        const failure = change.failure;
        return (
          sql.setForwardFailure.run({
            id,
            address: change.address,
            at: failure?.at ?? null,
            code: failure?.code ?? null,
            status: failure?.status ?? null,
          }).changes === 1
        );
      }
    }
  }

  private deliver(job: JobArgs['deliver']): StoredMessage {
    const user = parseId(job.userId);
    const account = user
      ? (this.sql.account.get(user) as
          | { state: string; public_key: string; uid_next: number }
          | undefined)
      : undefined;
    if (!user || !account || account.state !== 'active')
      throw new MailboxGoneError('no such active mailbox');
    if (job.encryptedTo !== undefined && account.public_key !== job.encryptedTo)
      throw new MailboxGoneError('the mailbox key changed since the message was encrypted');
    const id = newId();
    const uid = account.uid_next;
    this.sql.takeUid.run(job.size, user);
    this.sql.insertMessage.run(id, user, uid, job.arrivedAt, job.size);
    if (job.stage !== undefined) {
      this.sql.copyStaged.run(id, job.stage);
    } else {
      (job.chunks ?? []).forEach((data, n) => this.sql.insertChunk.run(id, n, blob(data)));
    }
    return {
      id: id.toString('hex'),
      userId: job.userId,
      uid,
      arrivedAt: new Date(job.arrivedAt),
      size: job.size,
      flags: [],
      fetchedAt: null,
    };
  }

  /** Each message counted only by the call that removed it; the quota total moves with it. */
  private remove(userId: string, messageIds: readonly string[]): number {
    const user = parseId(userId);
    if (!user) return 0;
    let removed = 0;
    let freed = 0;
    for (const id of new Set(parseIds(messageIds).map((bytes) => bytes.toString('hex')))) {
      const bytes = Buffer.from(id, 'hex');
      const row = this.sql.deleteMessage.get(bytes, user) as { size: number } | undefined;
      if (!row) continue;
      this.sql.deleteChunks.run(bytes);
      removed += 1;
      freed += row.size;
    }
    if (freed > 0) this.sql.freeBytes.run(freed, user);
    return removed;
  }

  private purge(user: Buffer | null): void {
    if (!user) return;
    this.sql.purgeChunks.run(user);
    this.sql.purgeMessages.run(user);
    this.sql.resetBytes.run(user);
  }

  /**
   * Gives free pages back to the file system once there are enough of them, then checkpoints
   * the log into the file and truncates it to zero bytes: what a deleted message left in the
   * log (its original pages) is then gone from every file. Waits at most `checkpointBusyMs` for
   * another process's reader or writer, and tries again next time.
   */
  private maintain(job: JobArgs['maintain']): MaintenanceReport {
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    let reclaimedPages = 0;
    if (free > 0 && free >= job.vacuumFreePages) {
      this.db.pragma('incremental_vacuum');
      reclaimedPages = free - (this.db.pragma('freelist_count', { simple: true }) as number);
    }
    const busyMs = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(job.checkpointBusyMs))}`);
    try {
      const [result] = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      return { truncated: result?.busy === 0, reclaimedPages };
    } finally {
      this.db.pragma(`busy_timeout = ${busyMs}`);
    }
  }
}

export function toJobError(error: unknown): JobError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
    };
  }
  return { name: 'Error', message: String(error) };
}

/** Every statement the writer runs, prepared once per connection. */
function prepare(db: Connection) {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    begin: p('BEGIN IMMEDIATE'),
    commit: p('COMMIT'),
    rollback: p('ROLLBACK'),
    savepoint: p('SAVEPOINT job'),
    release: p('RELEASE job'),
    rollbackTo: p('ROLLBACK TO job'),
    insertUser: p(`INSERT INTO users (id, username, state, fingerprint, public_key, password_hash,
        created_at, catch_all, allowed, disabled, send_enabled, sign_as_nym, uid_validity,
        uid_next, used_bytes, last_fetch_day, payload_format)
      VALUES (@id, @username, @state, @fingerprint, @public_key, @password_hash, @created_at,
        @catch_all, @allowed, @disabled, @send_enabled, @sign_as_nym, @uid_validity, @uid_next,
        @used_bytes, @last_fetch_day, @payload_format)
      ON CONFLICT (username) DO NOTHING`),
    activate: p(`UPDATE users SET state = 'active' WHERE id = ? AND state = 'pending'`),
    setState: p('UPDATE users SET state = ? WHERE id = ?'),
    // A state change that happens only from the state named: active ↔ disabled.
    changeState: p('UPDATE users SET state = ? WHERE id = ? AND state = ?'),
    setFetchDay: p('UPDATE users SET last_fetch_day = ? WHERE id = ?'),
    setPasswordHash: p('UPDATE users SET password_hash = ? WHERE id = ?'),
    setKey: p('UPDATE users SET fingerprint = ?, public_key = ? WHERE id = ?'),
    setCatchAll: p('UPDATE users SET catch_all = ? WHERE id = ?'),
    setPayloadFormat: p('UPDATE users SET payload_format = ? WHERE id = ?'),
    setSending: p(`UPDATE users SET send_enabled = COALESCE(?, send_enabled),
        sign_as_nym = COALESCE(?, sign_as_nym) WHERE id = ?`),
    policy: p('SELECT allowed, disabled FROM users WHERE id = ?'),
    setPolicy: p('UPDATE users SET allowed = ?, disabled = ? WHERE id = ?'),
    setForward: p(`UPDATE users SET forward_address = @forward_address,
        forward_host = @forward_host, forward_state = @forward_state,
        forward_code_hash = @forward_code_hash, forward_code_expires_at = @forward_code_expires_at,
        forward_failure_at = @forward_failure_at, forward_failure_code = @forward_failure_code,
        forward_failure_status = @forward_failure_status
      WHERE id = @id`),
    // One statement, so the address compared is the one the refusal lands beside.
    setForwardFailure: p(`UPDATE users SET forward_failure_at = @at, forward_failure_code = @code,
        forward_failure_status = @status
      WHERE id = @id AND forward_address = @address`),
    deleteUser: p('DELETE FROM users WHERE id = ?'),
    account: p('SELECT state, public_key, uid_next FROM users WHERE id = ?'),
    takeUid: p(
      'UPDATE users SET uid_next = uid_next + 1, used_bytes = used_bytes + ? WHERE id = ?',
    ),
    insertMessage: p(`INSERT INTO messages (id, user_id, uid, arrived_at, size, flags, fetched_at)
      VALUES (?, ?, ?, ?, ?, '[]', NULL)`),
    insertChunk: p('INSERT INTO chunks (message_id, n, data) VALUES (?, ?, ?)'),
    copyStaged: p(`INSERT INTO chunks (message_id, n, data)
      SELECT ?, n, data FROM temp.staged WHERE stage = ? ORDER BY n`),
    stageAppend: p('INSERT INTO temp.staged (stage, n, data) VALUES (?, ?, ?)'),
    stageDrop: p('DELETE FROM temp.staged WHERE stage = ?'),
    // The earliest time wins, as MongoDB's $min: the grace period counts from the first fetch.
    markFetched: p(`UPDATE messages SET fetched_at = @at
      WHERE id = @id AND user_id = @user AND (fetched_at IS NULL OR fetched_at > @at)`),
    setFlags: p('UPDATE messages SET flags = ? WHERE id = ? AND user_id = ?'),
    deleteMessage: p('DELETE FROM messages WHERE id = ? AND user_id = ? RETURNING size'),
    deleteChunks: p('DELETE FROM chunks WHERE message_id = ?'),
    freeBytes: p('UPDATE users SET used_bytes = MAX(0, used_bytes - ?) WHERE id = ?'),
    purgeChunks: p(
      'DELETE FROM chunks WHERE message_id IN (SELECT id FROM messages WHERE user_id = ?)',
    ),
    purgeMessages: p('DELETE FROM messages WHERE user_id = ?'),
    resetBytes: p('UPDATE users SET used_bytes = 0 WHERE id = ?'),
  };
}
