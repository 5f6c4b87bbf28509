import { expect } from 'chai';
import type { Store } from '../../src/store/store';
import { openTestStore, createTestUser } from '../helpers/services';

describe('store: UIDs', () => {
  let store: Store;
  before(async () => {
    store = await openTestStore();
  });
  after(async () => store.close());

  const activeUser = () => createTestUser(store);

  it('gives 50 concurrent deliveries for one user 50 distinct, increasing UIDs', async () => {
    const user = await activeUser();
    const stored = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        store.messages.add(user.id, Buffer.from(`message ${i}`), new Date()),
      ),
    );
    const uids = stored.map((message) => message.uid);
    expect(new Set(uids).size).to.equal(50);
    const listed = (await store.messages.list(user.id)).map((message) => message.uid);
    expect(listed).to.have.length(50);
    expect(listed).to.deep.equal([...listed].sort((a, b) => a - b));
    expect(Math.min(...uids)).to.be.at.least(1);
  });

  it('never reuses a UID after a delete', async () => {
    const user = await activeUser();
    const first = await store.messages.add(user.id, Buffer.from('one'), new Date());
    await store.messages.remove(user.id, [first.id]);
    const second = await store.messages.add(user.id, Buffer.from('two'), new Date());
    expect(second.uid).to.be.greaterThan(first.uid);
    expect((await store.users.byId(user.id))?.uidNext).to.equal(second.uid + 1);
  });

  it('refuses to store for a pending user, leaving no chunk behind', async () => {
    const user = await createTestUser(store, { state: 'pending' });
    let failure: unknown;
    await store.messages
      .add(user.id, Buffer.from('x'), new Date())
      .catch((error: unknown) => (failure = error));
    expect(failure).to.be.instanceOf(Error);
    expect(await store.messages.count(user.id)).to.equal(0);
    expect(await store.messages.removeOrphanChunks(new Date(Date.now() + 60_000))).to.equal(0);
  });
});
