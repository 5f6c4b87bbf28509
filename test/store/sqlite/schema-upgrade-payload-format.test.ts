/**
 * sqlite engine: a file made before the payload format existed is brought up to date by the
 * first writer that opens it (src/store/sqlite/schema.ts, ADDED_COLUMNS), keeping everything in
 * it, its users reading as protected; a file made by a newer kzymy is refused rather than misread.
 */
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { openStore } from '../../../src/store/open';
import { SCHEMA_VERSION } from '../../../src/store/sqlite/schema';
import { uniqueSqliteFile } from '../../helpers/services';

/** The users table as schema version 1 made it, before the payload format existed. */
const VERSION_1_USERS = `CREATE TABLE users (
  id BLOB PRIMARY KEY, username TEXT NOT NULL UNIQUE, state TEXT NOT NULL,
  fingerprint TEXT NOT NULL, public_key TEXT NOT NULL, password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL, catch_all INTEGER NOT NULL, allowed TEXT NOT NULL,
  disabled TEXT NOT NULL, uid_validity INTEGER NOT NULL, uid_next INTEGER NOT NULL,
  used_bytes INTEGER NOT NULL)`;

function makeFile(version: number, setup: (db: Database.Database) => void): string {
  const file = uniqueSqliteFile('upgrade');
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    setup(db);
    db.pragma(`user_version = ${version}`);
  } finally {
    db.close();
  }
  return file;
}

describe('store [sqlite]: the payload format in files of other schema versions', () => {
  it('upgrades a version-1 file: its users keep everything and read as protected', async () => {
    const id = Buffer.from('0123456789abcdef01234567', 'hex');
    const file = makeFile(1, (db) => {
      db.exec(VERSION_1_USERS);
      db.prepare(
        `INSERT INTO users VALUES (?, 'olduser', 'active', 'fp', 'pk', 'h', 1000, 0, '["shop"]',
          '[]', 77, 5, 1234)`,
      ).run(id);
    });
    const store = await openStore({ engine: 'sqlite', file });
    try {
      const user = await store.users.byName('olduser');
      expect(user).to.deep.include({
        id: id.toString('hex'),
        state: 'active',
        uidValidity: 77,
        uidNext: 5,
        payloadFormat: 'protected',
      });
      expect(user?.policy).to.deep.equal({ catchAll: false, allowed: ['shop'], disabled: [] });
      expect(await store.messages.usedBytes(user!.id)).to.equal(1234);
      expect(await store.users.setPayloadFormat(user!.id, 'exact')).to.equal(true);
      expect((await store.users.byId(user!.id))?.payloadFormat).to.equal('exact');
      // New users in the upgraded file get the column's default too.
      const fresh = await store.users.create({
        fingerprint: 'f',
        publicKey: 'k',
        passwordHash: 'h',
        state: 'active',
      });
      expect((await store.users.byId(fresh.id))?.payloadFormat).to.equal('protected');
    } finally {
      await store.close();
    }
    const db = new Database(file, { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).to.equal(SCHEMA_VERSION);
    } finally {
      db.close();
    }
    // Opening it again finds nothing left to do.
    const again = await openStore({ engine: 'sqlite', file });
    try {
      expect((await again.users.byName('olduser'))?.payloadFormat).to.equal('exact');
    } finally {
      await again.close();
    }
  });

  it('refuses a file from a newer kzymy, and leaves it as it was', async () => {
    const file = makeFile(SCHEMA_VERSION + 1, (db) => db.exec(VERSION_1_USERS));
    let failure: unknown;
    await openStore({ engine: 'sqlite', file }).then(
      (store) => store.close(),
      (error: unknown) => (failure = error),
    );
    expect((failure as Error)?.name).to.equal('SchemaVersionError');
    const db = new Database(file, { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).to.equal(SCHEMA_VERSION + 1);
      const columns = (db.pragma('table_info(users)') as { name: string }[]).map((c) => c.name);
      expect(columns).to.not.include('payload_format');
    } finally {
      db.close();
    }
  });
});
