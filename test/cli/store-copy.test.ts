/**
 * `kzymy store copy --to mongodb://…` as an operator runs it (a child process with a config on
 * the default sqlite engine), copying to a database on the run's FerretDB: interrupted with
 * SIGKILL part-way and run again, then run once more. The destination ends up equal to the source
 * — users with their keys, policies, payload formats, UIDVALIDITY and next UID; messages with their ids, UIDs,
 * flags and fetch times; ciphertext byte for byte — with nothing left over, and takes new mail.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { MongoClient, ObjectId } from 'mongodb';
import { sqliteStoreFile } from '../../src/embedded/paths';
import { openStore } from '../../src/store/open';
import type { Store } from '../../src/store/store';
import type { StoredMessage, User } from '../../src/store/types';
import { existingDatabase } from '../helpers/engines';
import { createTestUser, testDataDir, testMongoUrl, uniqueDatabaseName } from '../helpers/services';
import { expectBytes } from '../helpers/bytes';

const CLI = join(__dirname, '..', '..', 'src', 'cli', 'kzymy.js');

function kzymy(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, KZYMY_CONFIG: '', MONGODB_URL: '' } },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: unknown }).code as number) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('kzymy CLI: store copy to MongoDB', function () {
  this.timeout(180_000);
  let dir: string;
  let configFile: string;
  let source: Store;
  let database: string;
  let target: MongoClient;
  const users: User[] = [];

  before(async () => {
    dir = mkdtempSync(join(testDataDir(), 'copy-'));
    configFile = join(dir, 'kzymy.yaml');
    writeFileSync(configFile, `domain: kzymy.test\ndataDir: ${dir}\n`);
    source = await existingDatabase('sqlite', sqliteStoreFile(dir)).open();
    database = uniqueDatabaseName('copy');
    target = await MongoClient.connect(testMongoUrl());

    const alice = await createTestUser(source, { publicKey: 'alice key' });
    await source.users.setCatchAll(alice.id, false);
    await source.users.allowAddress(alice.id, 'shop');
    await source.users.disableAddress(alice.id, 'leaked');
    await source.users.setSending(alice.id, { enabled: true, signAsNym: true });
    const bob = await createTestUser(source);
    const carol = await createTestUser(source, { state: 'pending' });
    await source.users.setPayloadFormat(bob.id, 'exact');
    // Forwarding destinations go with their users: one waiting for its code, one active that a
    // destination refused once.
    await source.users.setForward(alice.id, {
      address: 'alice@example.org',
      host: null,
      state: 'pending',
      codeHash: 'code hash',
      codeExpiresAt: new Date(1e12 + 3_600_000),
      failure: null,
    });
    await source.users.setForward(bob.id, {
      address: 'bob@example.org',
      host: 'abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion:2525',
      state: 'active',
      codeHash: null,
      codeExpiresAt: null,
      failure: { at: new Date(1e12), code: 550, status: '5.1.1' },
    });
    for (let i = 0; i < 60; i++)
      await source.messages.add(alice.id, randomBytes(2000 + i * 37), new Date(1e12 + i));
    for (const size of [3 * 1024 * 1024 + 11, 700 * 1024, 1, 0, 1024 * 1024])
      await source.messages.add(bob.id, randomBytes(size), new Date());
    const [first, second] = await source.messages.list(alice.id);
    await source.messages.markFetched(alice.id, [first!.id], new Date(5_000));
    await source.messages.setFlags(alice.id, [second!.id], ['\\Seen']);
    users.push(alice, bob, carol);
  });
  after(async () => {
    await target?.close();
    await source?.close();
  });

  const messagesThere = (): Promise<number> =>
    target.db(database).collection('messages').countDocuments({});

  /** The destination, read through the mongodb engine, equals the source. */
  async function expectEqual(): Promise<void> {
    const copy = await openStore({ engine: 'mongodb', url: testMongoUrl(), database });
    try {
      const strip = (user: User | null) => user && { ...user };
      for (const user of users) {
        const original = await source.users.byId(user.id);
        expect(strip(await copy.users.byName(user.username)), user.username).to.deep.equal(
          strip(original),
        );
        const listed = await source.messages.list(user.id);
        expect(await copy.messages.list(user.id)).to.deep.equal(listed);
        for (const message of listed) {
          const bytes = await copy.messages.read(user.id, message);
          expectBytes(bytes, await source.messages.read(user.id, message), message.id);
        }
      }
      const db = target.db(database);
      // Nothing left over: every chunk belongs to a message, every upload marker is gone.
      const expectedChunks = (await Promise.all(users.map((user) => source.messages.list(user.id))))
        .flat()
        .reduce(
          (sum: number, message: StoredMessage) =>
            sum + Math.max(1, Math.ceil(message.size / copy.messages.chunkBytes)),
          0,
        );
      expect(await db.collection('chunks').countDocuments({})).to.equal(expectedChunks);
      expect(await db.collection('uploads').countDocuments({})).to.equal(0);
    } finally {
      await copy.close();
    }
  }

  it('refuses without --to, and names --from when the configured store is not sqlite', async () => {
    const bare = await kzymy(['store', 'copy', '--config', configFile]);
    expect(bare.code).to.equal(64);
    expect(bare.stderr).to.include('--to mongodb://');
    const mongoConfig = join(dir, 'mongo.yaml');
    writeFileSync(mongoConfig, `dataDir: ${dir}\nstore:\n  engine: mongodb\n`);
    const other = await kzymy(['store', 'copy', '--to', testMongoUrl(), '--config', mongoConfig]);
    expect(other.code).to.equal(64);
    expect(other.stderr).to.include('--from FILE');
  });

  it('copies everything, resumed after a kill -9 part-way, and leaves nothing partial', async () => {
    const args = ['store', 'copy', '--to', testMongoUrl(), '--database', database];
    const child = spawn(process.execPath, [CLI, ...args, '--config', configFile], {
      env: { ...process.env, KZYMY_CONFIG: '', MONGODB_URL: '' },
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    // Killed once a few messages are there, with most of the mailbox still to go.
    const watch = setInterval(() => {
      messagesThere().then(
        (count) => count >= 5 && child.kill('SIGKILL'),
        () => undefined,
      );
    }, 5);
    const signal = await exited;
    clearInterval(watch);
    expect(signal, 'the copy finished before it could be interrupted').to.equal('SIGKILL');
    const partial = await messagesThere();
    expect(partial).to.be.within(5, 64);

    // What the interrupted run made visible is whole.
    const copy = await openStore({ engine: 'mongodb', url: testMongoUrl(), database });
    try {
      let visible = 0;
      for (const user of users) {
        for (const message of await copy.messages.list(user.id)) {
          visible += 1;
          expectBytes(
            await copy.messages.read(user.id, message),
            await source.messages.read(user.id, message),
          );
        }
      }
      expect(visible).to.equal(partial);
    } finally {
      await copy.close();
    }

    // Meanwhile the source moves on: a copied message is fetched and deleted, a flag, a key and
    // an account's state change, a user stops forwarding, a message arrives.
    const copied = await target.db(database).collection<{ _id: string }>('messages').findOne({});
    const [userId, messageId] = copied!._id.split(':') as [string, string];
    await source.messages.remove(userId, [messageId]);
    const alice = users[0]!;
    const [, , third] = await source.messages.list(alice.id);
    await source.messages.setFlags(alice.id, [third!.id], ['\\Flagged']);
    await source.users.setKey(alice.id, 'new-fingerprint', 'alice new key');
    // The payload format goes both ways (the copy's user document replaces the one there).
    await source.users.setPayloadFormat(alice.id, 'exact');
    await source.users.setPayloadFormat(users[1]!.id, 'protected');
    await source.users.clearForward(users[1]!.id);
    await source.users.setSending(alice.id, { signAsNym: false });
    // The operator disables her, after a login on a day the copy must carry too.
    await source.users.noteFetchDay(alice.id, '2026-01-02');
    await source.users.disable(alice.id);
    await source.messages.add(users[1]!.id, randomBytes(5000), new Date());
    // And an account copied by the first run is deleted (with her mail).
    const dave = await createTestUser(source);
    await source.messages.add(dave.id, randomBytes(700), new Date());
    type Report = {
      users: { copied: number; updated: number; removed: number };
      messages: { copied: number; updated: number; removed: number; vanished: number };
    };
    const first = await kzymy([...args, '--config', configFile, '--json']);
    expect(first.code, first.stderr).to.equal(0);
    const resumedReport = JSON.parse(first.stdout) as Report;
    // The fetched-and-deleted message goes; the rest is copied or brought up to date.
    expect(resumedReport.messages.removed).to.equal(1);
    expect(resumedReport.messages.copied + resumedReport.messages.updated).to.equal(66);
    expect(resumedReport.messages.updated).to.equal(partial - 1);
    expect(await target.db(database).collection('users').countDocuments({})).to.equal(4);
    await source.deleteUser(dave.id);

    const resumed = await kzymy([...args, '--config', configFile, '--json']);
    expect(resumed.code, resumed.stderr).to.equal(0);
    const report = JSON.parse(resumed.stdout) as Report;
    expect(report.users).to.deep.equal({ copied: 0, updated: 3, removed: 1 });
    expect(report.messages).to.deep.equal({ copied: 0, updated: 65, removed: 0, vanished: 0 });
    await expectEqual();
    // Nothing of the deleted account is left there.
    const db = target.db(database);
    expect(await db.collection('users').countDocuments({})).to.equal(3);
    expect(await db.collection('usernames').countDocuments({})).to.equal(3);
    expect(
      await db.collection('messages').countDocuments({ user: new ObjectId(dave.id) }),
    ).to.equal(0);
    expect(await db.collection('chunks').countDocuments({ user: new ObjectId(dave.id) })).to.equal(
      0,
    );
  });

  it('changes nothing when run again, and the copy takes new mail where the UIDs left off', async () => {
    const again = await kzymy([
      'store',
      'copy',
      '--to',
      testMongoUrl(),
      '--database',
      database,
      '--config',
      configFile,
    ]);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.match(
      /: 0 users new, 3 brought up to date, 0 removed \(gone from the source\); 0 messages new, 65 already there, 0 removed/,
    );
    // Hosts only: never the URL itself (it may carry a password).
    expect(again.stdout).not.to.include('mongodb://');
    await expectEqual();

    const copy = await openStore({ engine: 'mongodb', url: testMongoUrl(), database });
    try {
      const bob = users[1]!;
      const before = await source.users.byId(bob.id);
      const stored = await copy.messages.add(bob.id, Buffer.from('after the move'), new Date());
      expect(stored.uid).to.equal(before!.uidNext);
    } finally {
      await copy.close();
    }
  });
});
