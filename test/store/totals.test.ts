/** Conformance: the store's totals for the metrics — every message and ciphertext byte, whoever's. */
import { expect } from 'chai';
import type { Store } from '../../src/store/store';
import { forEachEngine, testDatabase, type TestDatabase } from '../helpers/engines';
import { createTestUser } from '../helpers/services';

describe('store: totals', () => {
  forEachEngine((engine) => {
    let database: TestDatabase;
    let store: Store;
    before(async () => {
      database = testDatabase(engine);
      store = await database.open();
    });
    after(async () => {
      await store.close();
      await database.close();
    });

    it('counts the messages and bytes of all users, and follows deletions', async () => {
      expect(await store.messages.totals()).to.deep.equal({ messages: 0, bytes: 0 });
      const [alice, bob] = [await createTestUser(store), await createTestUser(store)];
      const first = await store.messages.add(alice.id, Buffer.alloc(1000, 'a'), new Date());
      await store.messages.add(alice.id, Buffer.alloc(250, 'b'), new Date());
      await store.messages.add(bob.id, Buffer.alloc(30, 'c'), new Date());
      expect(await store.messages.totals()).to.deep.equal({ messages: 3, bytes: 1280 });
      await store.messages.remove(alice.id, [first.id]);
      expect(await store.messages.totals()).to.deep.equal({ messages: 2, bytes: 280 });
      // Another process sees the same totals; an account's purge takes its share.
      const other = await database.open();
      try {
        expect(await other.messages.totals()).to.deep.equal({ messages: 2, bytes: 280 });
        expect(await other.deleteUser(alice.id)).to.equal(true);
        expect(await store.messages.totals()).to.deep.equal({ messages: 1, bytes: 30 });
      } finally {
        await other.close();
      }
    });

    it('counts a large message, stored in several pieces, once and at its full size', async () => {
      const user = await createTestUser(store);
      const before = await store.messages.totals();
      const size = 3 * store.messages.chunkBytes + 17;
      const pieces = (async function* () {
        for (let sent = 0; sent < size; sent += 65_536)
          yield Buffer.alloc(Math.min(65_536, size - sent), 'z');
      })();
      await store.messages.add(user.id, pieces, new Date());
      expect(await store.messages.totals()).to.deep.equal({
        messages: before.messages + 1,
        bytes: before.bytes + size,
      });
    });
  });
});
