/**
 * Conformance: per-message calls. A message id only ever reaches the caller's own messages,
 * `fetchedAt` keeps the first time, and the sweeper's queries find what they should.
 */
import { expect } from 'chai';
import type { Store } from '../../src/store/store';
import type { User } from '../../src/store/types';
import { forEachEngine, testDatabase, type TestDatabase } from '../helpers/engines';
import { createTestUser } from '../helpers/services';

describe('store: messages', () => {
  forEachEngine((engine) => {
    let database: TestDatabase;
    let store: Store;
    let alice: User;
    let bob: User;

    before(async () => {
      database = testDatabase(engine);
      store = await database.open({ delivers: true });
      alice = await createTestUser(store);
      bob = await createTestUser(store);
    });
    after(async () => {
      await store.close();
      await database.close();
    });

    async function fetchedAt(user: User, uid: number): Promise<number | undefined> {
      return (await store.messages.byUid(user.id, uid))?.fetchedAt?.getTime();
    }

    it('keeps the first fetch time, for one message and for several', async () => {
      const one = await store.messages.add(alice.id, Buffer.from('one'), new Date());
      const two = await store.messages.add(alice.id, Buffer.from('two'), new Date());
      const three = await store.messages.add(alice.id, Buffer.from('three'), new Date());
      expect(await fetchedAt(alice, one.uid)).to.equal(undefined);

      await store.messages.markFetched(alice.id, [one.id], new Date(1_000));
      await store.messages.markFetched(alice.id, [one.id], new Date(9_000));
      expect(await fetchedAt(alice, one.uid)).to.equal(1_000);

      await store.messages.markFetched(alice.id, [two.id, three.id], new Date(2_000));
      await store.messages.markFetched(alice.id, [one.id, two.id, three.id], new Date(8_000));
      expect(await fetchedAt(alice, one.uid)).to.equal(1_000);
      expect(await fetchedAt(alice, two.uid)).to.equal(2_000);
      expect(await fetchedAt(alice, three.uid)).to.equal(2_000);
      expect(await store.messages.remove(alice.id, [one.id, two.id, three.id])).to.equal(3);
    });

    it('sets flags on several messages in one call, and only on those that still exist', async () => {
      const stored = await Promise.all(
        ['a', 'b', 'c'].map((body) => store.messages.add(alice.id, Buffer.from(body), new Date())),
      );
      const ids = stored.map((message) => message.id);
      expect(await store.messages.remove(alice.id, [ids[2] as string])).to.equal(1);
      expect(await store.messages.setFlags(alice.id, ids, ['\\Deleted', '\\Seen'])).to.equal(2);
      for (const message of stored.slice(0, 2)) {
        expect((await store.messages.byUid(alice.id, message.uid))?.flags).to.deep.equal([
          '\\Deleted',
          '\\Seen',
        ]);
      }
      expect(await store.messages.remove(alice.id, ids)).to.equal(2);
    });

    it('lets no call on one user’s message ids touch another user’s messages', async () => {
      const message = await store.messages.add(alice.id, Buffer.from('for alice'), new Date());

      await store.messages.markFetched(bob.id, [message.id], new Date(1_000));
      await store.messages.markFetched(bob.id, [message.id, message.id], new Date(1_000));
      expect(await store.messages.setFlags(bob.id, [message.id], ['\\Seen'])).to.equal(0);
      expect(await store.messages.exists(bob.id, message.id)).to.equal(false);
      expect(await store.messages.exists(alice.id, message.id)).to.equal(true);
      expect(await store.messages.remove(bob.id, [message.id])).to.equal(0);
      const reading = await store.messages.read(bob.id, message).then(
        () => 'read',
        (error: Error) => error.name,
      );
      expect(reading).to.equal('MailboxGoneError');

      const untouched = await store.messages.byUid(alice.id, message.uid);
      expect(untouched).to.include({ fetchedAt: null });
      expect(untouched?.flags).to.deep.equal([]);
      expect((await store.messages.read(alice.id, message)).toString()).to.equal('for alice');
      expect(await store.messages.remove(alice.id, [message.id])).to.equal(1);
    });

    it('ignores ids that are not message ids, and reads a deleted message as gone', async () => {
      const message = await store.messages.add(alice.id, Buffer.from('brief'), new Date());
      await store.messages.markFetched(alice.id, ['nope', '{"$ne":null}'], new Date());
      expect(await store.messages.remove(alice.id, ['nope', ''])).to.equal(0);
      expect(await store.messages.remove(alice.id, [message.id])).to.equal(1);
      expect(await store.messages.exists(alice.id, message.id)).to.equal(false);
      const reading = await store.messages.read(alice.id, message).then(
        () => 'read',
        (error: Error) => error.name,
      );
      expect(reading).to.equal('MailboxGoneError');
    });

    it('lists, counts and sums a mailbox, in UID order', async () => {
      const user = await createTestUser(store);
      const sizes = [10, 2000, 300];
      const stored = [];
      for (const size of sizes)
        stored.push(await store.messages.add(user.id, Buffer.alloc(size, 1), new Date()));
      const listed = await store.messages.list(user.id);
      expect(listed.map((m) => m.uid)).to.deep.equal(stored.map((m) => m.uid));
      expect(listed.map((m) => m.size)).to.deep.equal(sizes);
      expect(listed[0]).to.deep.include({ userId: user.id, flags: [], fetchedAt: null });
      expect(await store.messages.count(user.id)).to.equal(3);
      expect(await store.messages.usedBytes(user.id)).to.equal(2310);
      expect(await store.messages.sumBytes(user.id)).to.equal(2310);
      expect(await store.messages.byUid(user.id, 999)).to.equal(null);
      expect(await store.messages.list(bob.id)).to.deep.equal([]);
    });

    describe('the sweeper’s queries', () => {
      let sweepStore: Store;
      let sweepDatabase: TestDatabase;
      before(async () => {
        // A database of its own: the queries look at every user's mail.
        sweepDatabase = testDatabase(engine);
        sweepStore = await sweepDatabase.open({ delivers: true });
      });
      after(async () => {
        await sweepStore.close();
        await sweepDatabase.close();
      });

      it('finds messages fetched before a time, and those that arrived before a time', async () => {
        const carol = await createTestUser(sweepStore);
        const dave = await createTestUser(sweepStore);
        const old = await sweepStore.messages.add(carol.id, Buffer.from('old'), new Date(1_000));
        const recent = await sweepStore.messages.add(dave.id, Buffer.from('new'), new Date(50_000));
        const fetched = await sweepStore.messages.add(dave.id, Buffer.from('f'), new Date(60_000));
        await sweepStore.messages.markFetched(dave.id, [fetched.id], new Date(70_000));

        const arrived = await sweepStore.messages.arrivedBefore(new Date(55_000));
        expect(arrived.map((m) => m.id).sort()).to.deep.equal([old.id, recent.id].sort());
        expect((await sweepStore.messages.arrivedBefore(new Date(55_000), 1)).length).to.equal(1);
        expect(await sweepStore.messages.fetchedBefore(new Date(70_000))).to.deep.equal([]);
        const due = await sweepStore.messages.fetchedBefore(new Date(70_001));
        expect(due.map((m) => [m.id, m.userId])).to.deep.equal([[fetched.id, dave.id]]);
        expect(
          await sweepStore.messages.removeOrphanChunks(new Date(Date.now() + 60_000)),
        ).to.equal(0);
      });

      it('finds pending users created before a time', async () => {
        const pending = await createTestUser(sweepStore, { state: 'pending' });
        await createTestUser(sweepStore);
        const cutoff = new Date(Date.now() + 1000);
        const found = await sweepStore.users.pendingBefore(cutoff);
        expect(found.map((user) => user.id)).to.deep.equal([pending.id]);
        expect(await sweepStore.users.pendingBefore(new Date(0))).to.deep.equal([]);
      });
    });
  });
});
