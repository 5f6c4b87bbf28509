import { expect } from 'chai';
import { Store } from '../../src/store/store';
import {
  openTestStore,
  testMongoUrl,
  uniqueDatabaseName,
  createTestUser,
} from '../helpers/services';

describe('store: several processes on one database', () => {
  it('opens a store again on a database whose indexes exist (FerretDB 1.24 panicked on re-declared indexes)', async () => {
    const database = uniqueDatabaseName();
    const first = await openTestStore(database);
    const user = await createTestUser(first);
    const second = await Store.open({ url: testMongoUrl(), database });
    const third = await Store.open({ url: testMongoUrl(), database });
    try {
      await second.messages.add(user.id, Buffer.from('via second'), new Date());
      expect((await third.messages.list(user.id)).map((message) => message.uid)).to.deep.equal([1]);
    } finally {
      await Promise.all([first.close(), second.close(), third.close()]);
    }
  });
});
