/** The store's totals for the metrics: every message and ciphertext byte, whoever's. */
import { expect } from 'chai';
import type { Store } from '../../src/store/store';
import { createTestUser, openTestStore } from '../helpers/services';

describe('store: totals', () => {
  let store: Store;
  before(async () => {
    store = await openTestStore();
  });
  after(async () => {
    await store?.close();
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
  });
});
