import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { MongoClient, ObjectId } from 'mongodb';
import { ChunkStore } from '../../src/store/chunks';
import type { Store } from '../../src/store/store';
import {
  openTestStore,
  testMongoUrl,
  uniqueDatabaseName,
  createTestUser,
} from '../helpers/services';

describe('store: ciphertext chunks', () => {
  const database = uniqueDatabaseName();
  let store: Store;
  let raw: MongoClient;
  before(async () => {
    store = await openTestStore(database);
    raw = await MongoClient.connect(testMongoUrl());
  });
  after(async () => {
    await raw.close();
    await store.close();
  });

  it('round-trips a 35 MB ciphertext byte-exact, and deleting it leaves no chunk', async function () {
    this.timeout(120_000);
    const user = await createTestUser(store);
    const ciphertext = randomBytes(35 * 1024 * 1024);
    const stored = await store.messages.add(user.id, ciphertext, new Date());
    expect(stored.size).to.equal(ciphertext.length);
    expect(await store.messages.usedBytes(user.id)).to.equal(ciphertext.length);

    const back = await store.messages.read(user.id, stored);
    expect(back.equals(ciphertext)).to.equal(true);
    // A range across a chunk boundary reads exactly those bytes.
    const start = 1024 * 1024 - 7;
    const slice = await store.messages.readRange(user.id, stored, start, start + 100);
    expect(slice.equals(ciphertext.subarray(start, start + 100))).to.equal(true);

    expect(await store.messages.remove(user.id, [stored.id])).to.equal(1);
    const chunks = await raw.db(database).collection('chunks').countDocuments({});
    expect(chunks).to.equal(0);
    expect(await store.messages.usedBytes(user.id)).to.equal(0);
  });

  it('does not let one user read or delete another user’s message', async () => {
    const alice = await createTestUser(store);
    const bob = await createTestUser(store);
    const message = await store.messages.add(alice.id, Buffer.from('for alice'), new Date());
    let failure: unknown;
    await store.messages.read(bob.id, message).catch((error: unknown) => (failure = error));
    expect(failure).to.be.instanceOf(Error);
    expect(await store.messages.remove(bob.id, [message.id])).to.equal(0);
    expect((await store.messages.read(alice.id, message)).toString()).to.equal('for alice');
  });

  it('counts each message deleted by several sessions at once exactly once', async () => {
    const user = await createTestUser(store);
    const messages = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        store.messages.add(user.id, Buffer.alloc(100 + i), new Date()),
      ),
    );
    const ids = messages.map((message) => message.id);
    const sessions = await Promise.all(
      Array.from({ length: 4 }, () => store.messages.remove(user.id, ids)),
    );
    // Each session learns how many it removed; together, each message exactly once.
    expect(sessions.reduce((sum, count) => sum + count, 0)).to.equal(10);
    expect(await store.messages.usedBytes(user.id)).to.equal(0);
  });

  it('sweeps the chunks of an upload that never became a message (a crash between the writes)', async () => {
    const user = await createTestUser(store);
    const kept = await store.messages.add(user.id, Buffer.from('kept'), new Date());
    // What add() has written when the process dies before the metadata: a marker and 3 chunks.
    const db = raw.db(database);
    const chunksBefore = await db.collection('chunks').countDocuments({});
    const crashed = new ChunkStore(db);
    await crashed.write(
      new ObjectId(user.id),
      new ObjectId(),
      [Buffer.alloc(2 * 1024 * 1024 + 1)],
      new Date(),
    );
    expect(await db.collection('chunks').countDocuments({})).to.equal(chunksBefore + 3);

    // Too young to be abandoned: a delivery may still be writing.
    expect(await store.messages.removeOrphanChunks(new Date(Date.now() - 60_000))).to.equal(0);
    expect(await store.messages.removeOrphanChunks(new Date(Date.now() + 60_000))).to.equal(3);
    expect(await db.collection('chunks').countDocuments({})).to.equal(chunksBefore);
    expect(await db.collection('uploads').countDocuments({})).to.equal(0);
    expect((await store.messages.read(user.id, kept)).toString()).to.equal('kept');
  });

  it('addresses chunks by _id (the only filter FerretDB 1.x gives to SQLite)', async () => {
    const user = await createTestUser(store);
    const message = await store.messages.add(user.id, Buffer.alloc(1024 * 1024 + 5, 7), new Date());
    const ids = (
      await raw
        .db(database)
        .collection('chunks')
        .find({ message: new ObjectId(message.id) })
        .toArray()
    ).map((doc) => doc._id);
    expect(ids.sort()).to.deep.equal([`${message.id}:0`, `${message.id}:1`]);
    await store.messages.flush();
    expect(
      await raw
        .db(database)
        .collection('uploads')
        .countDocuments({ _id: new ObjectId(message.id) }),
    ).to.equal(0);
  });

  it('writes a ciphertext given in pieces as they are produced, chunk by chunk', async () => {
    const user = await createTestUser(store);
    const ciphertext = randomBytes(2 * 1024 * 1024 + 333);
    const sizes = [1, 700 * 1024, 900 * 1024, 3, 57];
    async function* produced(): AsyncIterable<Buffer> {
      let at = 0;
      for (let n = 0; at < ciphertext.length; n++) {
        const size = sizes[n % sizes.length]!;
        yield ciphertext.subarray(at, at + size);
        at += size;
      }
    }
    const stored = await store.messages.add(user.id, produced(), new Date());
    expect(stored.size).to.equal(ciphertext.length);
    expect((await store.messages.read(user.id, stored)).equals(ciphertext)).to.equal(true);
    const chunks = raw.db(database).collection('chunks');
    expect(await chunks.countDocuments({ message: new ObjectId(stored.id) })).to.equal(3);
    expect(await store.messages.usedBytes(user.id)).to.equal(ciphertext.length);
  });

  it('leaves nothing behind when the pieces fail midway (encryption died after two chunks)', async () => {
    const user = await createTestUser(store);
    const db = raw.db(database);
    const chunksBefore = await db.collection('chunks').countDocuments({});
    async function* failing(): AsyncIterable<Buffer> {
      yield randomBytes(1024 * 1024);
      yield randomBytes(1024 * 1024 + 10);
      throw new Error('encryption failed');
    }
    const outcome = await store.messages.add(user.id, failing(), new Date()).then(
      () => 'stored',
      (error: Error) => error.message,
    );
    expect(outcome).to.equal('encryption failed');
    await store.messages.flush(); // the earlier tests' markers
    expect(await db.collection('chunks').countDocuments({})).to.equal(chunksBefore);
    expect(await db.collection('uploads').countDocuments({})).to.equal(0);
    expect(await store.messages.count(user.id)).to.equal(0);
    expect(await store.messages.usedBytes(user.id)).to.equal(0);
  });

  it('refuses to commit a message encrypted to a key the user no longer has', async () => {
    const user = await createTestUser(store, { publicKey: 'new key' });
    const db = raw.db(database);
    const chunksBefore = await db.collection('chunks').countDocuments({});
    const outcome = await store.messages
      .add(user.id, Buffer.from('to the old key'), new Date(), { encryptedTo: 'old key' })
      .then(
        () => 'stored',
        (error: Error) => error.name,
      );
    expect(outcome).to.equal('MailboxGoneError');
    expect(await store.messages.count(user.id)).to.equal(0);
    expect(await db.collection('chunks').countDocuments({})).to.equal(chunksBefore);
    // The same key as the user's commits.
    await store.messages.add(user.id, Buffer.from('ok'), new Date(), { encryptedTo: 'new key' });
    expect(await store.messages.count(user.id)).to.equal(1);
  });

  it('removes the markers of committed uploads in batches, by itself and at flush', async () => {
    const user = await createTestUser(store);
    const uploads = raw.db(database).collection('uploads');
    await store.messages.flush();
    const ids = [];
    for (let i = 0; i < 3; i++)
      ids.push(
        new ObjectId((await store.messages.add(user.id, Buffer.from(`m${i}`), new Date())).id),
      );
    // They go together, off the deliveries' path, soon after without being asked…
    for (let waited = 0; (await uploads.countDocuments({ _id: { $in: ids } })) > 0; waited += 100) {
      expect(waited, 'markers still there after 5 s').to.be.below(5000);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // …and at once when flushed (Store.close flushes).
    const more = await store.messages.add(user.id, Buffer.from('m3'), new Date());
    await store.messages.flush();
    expect(await uploads.countDocuments({ _id: new ObjectId(more.id) })).to.equal(0);
    // A marker left behind by a crash before its batch costs its message nothing.
    await uploads.insertOne({
      _id: new ObjectId(more.id),
      user: new ObjectId(user.id),
      startedAt: new Date(0),
    });
    expect(await store.messages.removeOrphanChunks(new Date())).to.equal(0);
    expect(await uploads.countDocuments({ _id: new ObjectId(more.id) })).to.equal(0);
    expect((await store.messages.read(user.id, more)).toString()).to.equal('m3');
  });
});
