/**
 * sqlite engine: a file an older kzymy wrote is upgraded in place by the first writer that opens
 * it (src/store/sqlite/schema.ts): a file from before sending gets the sending switches, off for
 * every user already there, and everything else stays as it was. A row written with only the
 * columns from before sending (the previous release's statement) reads as sending off: the
 * columns' defaults are what the upgrade relies on. A file newer than this kzymy is refused, so
 * going back to an older release takes the backup made before upgrading (docs/operations/deploy.md).
 */
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { openStore } from '../../../src/store/open';
import { SqliteExport } from '../../../src/store/sqlite/export';
import { SCHEMA_VERSION, SchemaVersionError } from '../../../src/store/sqlite/schema';
import { uniqueSqliteFile } from '../../helpers/services';
import { insertUserAsBeforeSending, writeFileBeforeSending } from './fixtures/before-sending';

function schemaOf(file: string): { version: number; userColumns: string[] } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return {
      version: db.pragma('user_version', { simple: true }) as number,
      userColumns: (db.pragma('table_info(users)') as { name: string }[]).map((c) => c.name),
    };
  } finally {
    db.close();
  }
}

const OFF = { enabled: false, signAsNym: false };

describe('store [sqlite]: upgrading a file an older kzymy wrote', () => {
  it('a file from before sending gets the sending switches, off for her, and keeps her and her mail as they were', async () => {
    const file = uniqueSqliteFile('before-sending');
    const old = writeFileBeforeSending(file);
    expect(schemaOf(file).userColumns).not.to.include('send_enabled');

    const store = await openStore({ engine: 'sqlite', file });
    try {
      const upgraded = schemaOf(file);
      expect(upgraded.version).to.equal(SCHEMA_VERSION);
      // Every column the file had, in place, then the added ones (sending, and forwarding's).
      expect(upgraded.userColumns.slice(0, 15)).to.deep.equal([
        'id',
        'username',
        'state',
        'fingerprint',
        'public_key',
        'password_hash',
        'created_at',
        'catch_all',
        'allowed',
        'disabled',
        'uid_validity',
        'uid_next',
        'used_bytes',
        'send_enabled',
        'sign_as_nym',
      ]);
      expect(await store.users.byName(old.username)).to.deep.include({
        id: old.userId,
        fingerprint: 'fpr',
        publicKey: 'old key',
        policy: { catchAll: false, allowed: ['shop'], disabled: ['leaked'] },
        sending: OFF,
        uidValidity: 12345,
        uidNext: 2,
      });
      expect(await store.users.setSending(old.userId, { signAsNym: true })).to.equal(true);
      expect((await store.users.byId(old.userId))?.sending).to.deep.equal({
        enabled: false,
        signAsNym: true,
      });
      const [message] = await store.messages.list(old.userId);
      expect(message?.id).to.equal(old.messageId);
      expect(await store.messages.read(old.userId, message!)).to.deep.equal(old.ciphertext);
      expect(await store.messages.usedBytes(old.userId)).to.equal(old.ciphertext.length);
      // New mail continues where her UIDs left off; a new user starts with sending off.
      const added = await store.messages.add(old.userId, Buffer.from('new'), new Date());
      expect(added.uid).to.equal(2);
      const fresh = await store.users.create({
        fingerprint: 'f',
        publicKey: 'k',
        passwordHash: 'h',
        state: 'active',
      });
      expect(fresh.sending).to.deep.equal(OFF);
    } finally {
      await store.close();
    }

    // Opened again: nothing left to add, and the switch she set is still set.
    const again = await openStore({ engine: 'sqlite', file });
    try {
      expect(schemaOf(file).userColumns.filter((c) => c === 'send_enabled')).to.have.length(1);
      expect((await again.users.byId(old.userId))?.sending).to.deep.equal({
        enabled: false,
        signAsNym: true,
      });
    } finally {
      await again.close();
    }
  });

  it('several processes opening a file from before sending at once add each column once', async () => {
    const file = uniqueSqliteFile('before-sending');
    const old = writeFileBeforeSending(file);
    const stores = await Promise.all([0, 1, 2].map(() => openStore({ engine: 'sqlite', file })));
    try {
      const columns = schemaOf(file).userColumns;
      expect(columns.filter((name) => name === 'send_enabled')).to.have.length(1);
      expect(columns.filter((name) => name === 'sign_as_nym')).to.have.length(1);
      for (const store of stores)
        expect((await store.users.byId(old.userId))?.sending).to.deep.equal(OFF);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('a user added with only the columns from before sending reads as sending off', async () => {
    const file = uniqueSqliteFile('before-sending');
    writeFileBeforeSending(file);
    const store = await openStore({ engine: 'sqlite', file });
    try {
      const db = new Database(file, { fileMustExist: true, timeout: 5000 });
      let id: string;
      try {
        id = insertUserAsBeforeSending(db, 'rolledback');
      } finally {
        db.close();
      }
      expect(await store.users.byName('rolledback')).to.deep.include({ id, sending: OFF });
      expect(await store.users.setSending(id, { enabled: true })).to.equal(true);
      expect((await store.users.byId(id))?.sending).to.deep.equal({
        enabled: true,
        signAsNym: false,
      });
    } finally {
      await store.close();
    }
  });

  it('a read-only opener (kzymy store copy --from) reads a file from before sending as sending off, and changes nothing', async () => {
    const file = uniqueSqliteFile('before-sending');
    const old = writeFileBeforeSending(file);
    const source = SqliteExport.open(file);
    try {
      expect(source.users()).to.have.length(1);
      expect(source.users()[0]).to.deep.include({ id: old.userId, sending: OFF });
      expect(source.mailbox(old.userId)?.user.sending).to.deep.equal(OFF);
    } finally {
      source.close();
    }
    expect(schemaOf(file).userColumns).not.to.include('send_enabled');
  });

  it('refuses a file newer than this kzymy, and leaves it as it is', async () => {
    const file = uniqueSqliteFile('newer');
    writeFileBeforeSending(file);
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    let failure: unknown;
    await openStore({ engine: 'sqlite', file }).catch((error: unknown) => (failure = error));
    expect(failure).to.be.instanceOf(Error);
    expect((failure as Error).name).to.equal(SchemaVersionError.name);
    expect((failure as Error).message).to.include('newer than this kzymy');
    expect(schemaOf(file).version).to.equal(SCHEMA_VERSION + 1);
    expect(schemaOf(file).userColumns).not.to.include('send_enabled');
  });
});
