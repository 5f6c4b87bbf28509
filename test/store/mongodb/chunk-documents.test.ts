/**
 * mongodb engine: how ciphertext is laid out in documents. Chunks are addressed by `_id` (the
 * only filter FerretDB 1.x gives to SQLite), and a delivery in progress is announced by an
 * upload marker, so that the sweeper can find what a crash between the chunk writes and the
 * metadata write left behind. (The conformance tests in test/store/ciphertext.test.ts cover what
 * both engines guarantee.)
 */
import { expect } from 'chai';
import { MongoClient, ObjectId } from 'mongodb';
import { ChunkStore } from '../../../src/store/mongodb/chunks';
import { MongoStore } from '../../../src/store/mongodb/store';
import { testMongoUrl, uniqueDatabaseName, createTestUser } from '../../helpers/services';

describe('store [mongodb]: chunk documents and upload markers', () => {
  const database = uniqueDatabaseName();
  let store: MongoStore;
  let raw: MongoClient;
  before(async () => {
    store = await MongoStore.open({ url: testMongoUrl(), database });
    raw = await MongoClient.connect(testMongoUrl());
  });
  after(async () => {
    await raw.close();
    await store.close();
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
