/**
 * sqlite engine: a file written by an earlier kzymy (schema 1: users, messages, chunks) is
 * brought up to date by the first store that opens it — the forwarding columns added to users,
 * the forwarding tables created — keeping every user and message as it was; and a file newer
 * than the code is refused rather than misread.
 */
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { openStore } from '../../../src/store/open';
import { SCHEMA_VERSION } from '../../../src/store/sqlite/schema';
import { uniqueSqliteFile } from '../../helpers/services';
import { SCHEMA_1_TABLES } from './fixtures/schema-1';

const USER_ID = '0a0b0c0d0e0f101112131415';
const MESSAGE_ID = '161718191a1b1c1d1e1f2021';

/** A schema-1 file with one user holding one message. */
function writeSchema1File(file: string): void {
  const db = new Database(file);
  try {
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    db.exec(SCHEMA_1_TABLES);
    const user = Buffer.from(USER_ID, 'hex');
    const message = Buffer.from(MESSAGE_ID, 'hex');
    db.prepare(
      `INSERT INTO users VALUES (?, 'oldtimer', 'active', 'f', 'pk', 'h', 1700000000000, 0,
        '["shop"]', '["spam"]', 12345, 2, 12)`,
    ).run(user);
    db.prepare(
      `INSERT INTO messages VALUES (?, ?, 1, 1700000001000, 12, '["\\\\Seen"]', NULL)`,
    ).run(message, user);
    db.prepare('INSERT INTO chunks VALUES (?, 0, ?)').run(message, Buffer.from('ciphertext\r\n'));
    db.pragma('user_version = 1');
  } finally {
    db.close();
  }
}

function columnsOf(file: string, table: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
  } finally {
    db.close();
  }
}

function userVersion(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

describe('store [sqlite]: a file from an earlier schema', function () {
  this.timeout(60_000);

  it('gains the forwarding columns and tables and keeps every user and message as it was', async () => {
    const file = uniqueSqliteFile('schema1');
    writeSchema1File(file);
    expect(columnsOf(file, 'users')).not.to.include('forward_address');

    const store = await openStore({ engine: 'sqlite', file });
    try {
      expect(userVersion(file)).to.equal(SCHEMA_VERSION);
      expect(columnsOf(file, 'users')).to.include.members([
        'forward_address',
        'forward_host',
        'forward_state',
        'forward_code_hash',
        'forward_code_expires_at',
        'forward_failure_at',
        'forward_failure_code',
        'forward_failure_status',
      ]);
      const user = await store.users.byName('oldtimer');
      expect(user).to.deep.include({
        id: USER_ID,
        state: 'active',
        uidValidity: 12345,
        uidNext: 2,
        forward: null,
        policy: { catchAll: false, allowed: ['shop'], disabled: ['spam'] },
      });
      const [message] = await store.messages.list(USER_ID);
      expect(message).to.deep.include({ id: MESSAGE_ID, uid: 1, size: 12, flags: ['\\Seen'] });
      expect(await store.messages.read(USER_ID, message!)).to.deep.equal(
        Buffer.from('ciphertext\r\n'),
      );
      expect(await store.messages.usedBytes(USER_ID)).to.equal(12);

      // What the upgrade added works: a destination, a claim, a refusal.
      const setting = {
        address: 'her@example.org',
        host: null,
        state: 'active' as const,
        codeHash: null,
        codeExpiresAt: null,
        failure: null,
      };
      expect(await store.users.setForward(USER_ID, setting)).to.equal(true);
      expect(await store.users.forwardingUserIds()).to.deep.equal([USER_ID]);
      const claim = await store.forwards.claim(USER_ID, MESSAGE_ID, 60_000);
      expect(claim).not.to.equal(null);
      await store.forwards.refuse(claim!, { at: new Date(), code: 550, status: '5.1.1' });
      expect(await store.forwards.refusedCount(USER_ID)).to.equal(1);
    } finally {
      await store.close();
    }

    // Opened again, nothing is added twice and nothing is lost.
    const again = await openStore({ engine: 'sqlite', file });
    try {
      expect((await again.users.byId(USER_ID))?.forward?.address).to.equal('her@example.org');
      expect(await again.messages.count(USER_ID)).to.equal(1);
    } finally {
      await again.close();
    }
  });

  it('refuses a file newer than this kzymy', async () => {
    const file = uniqueSqliteFile('newer');
    writeSchema1File(file);
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    let failure: unknown;
    await openStore({ engine: 'sqlite', file }).catch((error: unknown) => (failure = error));
    expect((failure as Error | undefined)?.name).to.equal('SchemaVersionError');
  });
});
