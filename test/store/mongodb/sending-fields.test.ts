/**
 * mongodb engine: the sending switches are `sendEnabled` and `signAsNym` in the user document.
 * Documents written before sending existed have neither, and read as off; setSending writes
 * only the switch it is given.
 */
import { expect } from 'chai';
import { MongoClient, ObjectId } from 'mongodb';
import { COLLECTIONS } from '../../../src/store/mongodb/indexes';
import { MongoStore } from '../../../src/store/mongodb/store';
import { createTestUser, testMongoUrl, uniqueDatabaseName } from '../../helpers/services';

describe('store [mongodb]: the sending switches in the user document', () => {
  const database = uniqueDatabaseName('sending');
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

  it('writes both off for a new user', async () => {
    const user = await createTestUser(store);
    expect(await documentOf(user.id)).to.deep.include({ sendEnabled: false, signAsNym: false });
  });

  it('reads a document written before sending existed as off, and sets only the switch given', async () => {
    const user = await createTestUser(store);
    await raw
      .db(database)
      .collection(COLLECTIONS.users)
      .updateOne({ _id: new ObjectId(user.id) }, { $unset: { sendEnabled: '', signAsNym: '' } });
    expect(await documentOf(user.id)).not.to.have.any.keys('sendEnabled', 'signAsNym');
    expect((await store.users.byId(user.id))?.sending).to.deep.equal({
      enabled: false,
      signAsNym: false,
    });

    expect(await store.users.setSending(user.id, { enabled: true })).to.equal(true);
    const document = await documentOf(user.id);
    expect(document).to.deep.include({ sendEnabled: true });
    expect(document).not.to.have.property('signAsNym');
    expect((await store.users.byName(user.username))?.sending).to.deep.equal({
      enabled: true,
      signAsNym: false,
    });
  });
});
