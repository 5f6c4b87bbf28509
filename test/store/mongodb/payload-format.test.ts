/**
 * mongodb engine: how a user's payload format is kept (src/store/mongodb/users.ts). The default,
 * 'protected', is no field at all, so user documents written before the setting existed read as
 * protected without being rewritten; 'exact' is the one field `payloadFormat: 'exact'`. (The
 * sqlite engine keeps a column, added to older files: test/store/sqlite/schema-upgrade-payload-format.test.ts.)
 */
import { expect } from 'chai';
import { MongoClient, ObjectId } from 'mongodb';
import { COLLECTIONS } from '../../../src/store/mongodb/indexes';
import { MongoStore } from '../../../src/store/mongodb/store';
import { createTestUser, testMongoUrl, uniqueDatabaseName } from '../../helpers/services';

describe('store [mongodb]: the payload format in the user document', () => {
  const database = uniqueDatabaseName();
  let raw: MongoClient;
  let store: MongoStore;

  before(async () => {
    raw = await MongoClient.connect(testMongoUrl());
    store = await MongoStore.open({ url: testMongoUrl(), database });
  });
  after(async () => {
    await store?.close();
    await raw?.close();
  });

  const documentOf = (id: string) =>
    raw
      .db(database)
      .collection(COLLECTIONS.users)
      .findOne({ _id: new ObjectId(id) });

  it('stores the default as no field, exact as the one field, and reads an old document as protected', async () => {
    const user = await createTestUser(store);
    expect(await documentOf(user.id)).to.not.have.property('payloadFormat');
    expect(await store.users.setPayloadFormat(user.id, 'exact')).to.equal(true);
    expect(await documentOf(user.id)).to.have.property('payloadFormat', 'exact');
    expect(await store.users.setPayloadFormat(user.id, 'protected')).to.equal(true);
    expect(await documentOf(user.id)).to.not.have.property('payloadFormat');

    // A document as an older kzymy left it, and one with a value this kzymy does not know: both
    // read as the default (never as the byte-exact payload nobody chose).
    const old = await createTestUser(store);
    await raw
      .db(database)
      .collection(COLLECTIONS.users)
      .updateOne({ _id: new ObjectId(old.id) }, { $set: { payloadFormat: 'something-else' } });
    expect((await store.users.byId(old.id))?.payloadFormat).to.equal('protected');
    expect((await store.users.byId(user.id))?.payloadFormat).to.equal('protected');
  });
});
