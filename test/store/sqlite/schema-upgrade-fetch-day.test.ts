/**
 * sqlite engine: the file's schema. A file written by the first schema (before accounts could be
 * disabled and the day of the last login was kept) is upgraded in place when a writer opens it —
 * nothing in it lost, the new column empty — and the metrics' totals and the shared-key count
 * are answered from indexes alone, never by reading the tables.
 */
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { prepareReads } from '../../../src/store/sqlite/reads';
import { openConnection, SCHEMA_VERSION } from '../../../src/store/sqlite/schema';
import { openStore } from '../../../src/store/open';
import { createTestUser, uniqueSqliteFile } from '../../helpers/services';
import { SCHEMA_1_TABLES } from './fixtures/schema-1';

describe('store [sqlite]: the file schema', function () {
  this.timeout(60_000);

  it('upgrades a schema-1 file in place: every row kept, the last fetch day added empty', async () => {
    const file = uniqueSqliteFile('schema1');
    const userId = '0123456789abcdef01234567';
    const messageId = '89abcdef0123456789abcdef';
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    old.exec(SCHEMA_1_TABLES);
    old
      .prepare(
        `INSERT INTO users VALUES (?, 'k3xold', 'active', 'fp', 'pk', 'h', 1700000000000, 1,
          '[]', '[]', 77, 2, 5)`,
      )
      .run(Buffer.from(userId, 'hex'));
    old
      .prepare(`INSERT INTO messages VALUES (?, ?, 1, 1700000000001, 5, '[]', NULL)`)
      .run(Buffer.from(messageId, 'hex'), Buffer.from(userId, 'hex'));
    old
      .prepare('INSERT INTO chunks VALUES (?, 0, ?)')
      .run(Buffer.from(messageId, 'hex'), Buffer.from('hello'));
    old.pragma('user_version = 1');
    old.close();

    const store = await openStore({ engine: 'sqlite', file });
    try {
      const user = await store.users.byName('k3xold');
      expect(user).to.deep.include({
        id: userId,
        state: 'active',
        uidValidity: 77,
        uidNext: 2,
        lastFetchDay: null,
      });
      const [message] = await store.messages.list(userId);
      expect(message?.uid).to.equal(1);
      expect(await store.messages.read(userId, message!)).to.deep.equal(Buffer.from('hello'));
      expect(await store.users.noteFetchDay(userId, '2026-01-02')).to.equal(true);
      expect(await store.users.disable(userId)).to.equal(true);
      expect(await store.users.byId(userId)).to.deep.include({
        state: 'disabled',
        lastFetchDay: '2026-01-02',
      });
      expect(await store.messages.totals()).to.deep.equal({ messages: 1, bytes: 5 });
    } finally {
      await store.close();
    }
    const after = new Database(file, { readonly: true });
    try {
      expect(after.pragma('user_version', { simple: true })).to.equal(SCHEMA_VERSION);
      const indexes = (
        after.prepare(`SELECT name FROM sqlite_master WHERE type = 'index'`).all() as {
          name: string;
        }[]
      ).map((row) => row.name);
      expect(indexes).to.include.members(['users_fingerprint', 'messages_size']);
      expect(after.pragma('integrity_check', { simple: true })).to.equal('ok');
    } finally {
      after.close();
    }
  });

  it('answers the totals, the accounts per state and the shared-key count from indexes', async () => {
    const file = uniqueSqliteFile('plans');
    const store = await openStore({ engine: 'sqlite', file });
    try {
      const user = await createTestUser(store);
      await store.messages.add(user.id, Buffer.alloc(10), new Date());
    } finally {
      await store.close();
    }
    const db = openConnection(file, { busyTimeoutMs: 0, create: false });
    try {
      const reads = prepareReads(db);
      const plan = (sql: string, ...params: unknown[]): string =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[])
          .map((row) => row.detail)
          .join('; ');
      expect(plan(reads.totals.source)).to.match(/USING COVERING INDEX messages_size\b/);
      expect(plan(reads.countByState.source)).to.match(
        /USING COVERING INDEX users_state_created\b/,
      );
      expect(plan(reads.countWithFingerprint.source, 'fp')).to.match(
        /SEARCH users USING COVERING INDEX users_fingerprint \(fingerprint=\?/,
      );
    } finally {
      db.close();
    }
  });
});
