/**
 * Conformance: UIDs. Distinct and increasing however many deliveries run at once, never reused,
 * and visible in order even when several processes store mail for one user: a client that saw
 * UID n must never later find a new message below n (RFC 3501 §2.3.1.1).
 */
import { expect } from 'chai';
import type { Store } from '../../src/store/store';
import { forEachEngine, testDatabase, type TestDatabase } from '../helpers/engines';
import { createTestUser } from '../helpers/services';

describe('store: UIDs', function () {
  this.timeout(120_000);

  forEachEngine((engine) => {
    let database: TestDatabase;
    let store: Store;
    before(async () => {
      database = testDatabase(engine);
      store = await database.open({ delivers: true });
    });
    after(async () => {
      await store.close();
      await database.close();
    });

    it('gives 50 concurrent deliveries for one user 50 distinct, increasing UIDs', async () => {
      const user = await createTestUser(store);
      const stored = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          store.messages.add(user.id, Buffer.from(`message ${i}`), new Date()),
        ),
      );
      const uids = stored.map((message) => message.uid);
      expect(new Set(uids).size).to.equal(50);
      const listed = await store.messages.list(user.id);
      expect(listed.map((message) => message.uid)).to.deep.equal([...uids].sort((a, b) => a - b));
      expect(Math.min(...uids)).to.be.at.least(1);
      // Each UID names the message that was stored under it.
      for (const message of stored) {
        const found = await store.messages.byUid(user.id, message.uid);
        expect(found?.id).to.equal(message.id);
      }
      expect(await store.messages.usedBytes(user.id)).to.equal(
        stored.reduce((sum, message) => sum + message.size, 0),
      );
    });

    it('never reuses a UID after a delete', async () => {
      const user = await createTestUser(store);
      const first = await store.messages.add(user.id, Buffer.from('one'), new Date());
      await store.messages.remove(user.id, [first.id]);
      const second = await store.messages.add(user.id, Buffer.from('two'), new Date());
      expect(second.uid).to.be.greaterThan(first.uid);
      expect((await store.users.byId(user.id))?.uidNext).to.equal(second.uid + 1);
    });

    it('refuses to store for a pending or unknown user, leaving nothing behind', async () => {
      const user = await createTestUser(store, { state: 'pending' });
      await store.messages.flush();
      const before = await database.counts();
      for (const id of [user.id, '0123456789abcdef01234567', 'nonsense']) {
        let failure: unknown;
        await store.messages
          .add(id, Buffer.from('x'), new Date())
          .catch((error: unknown) => (failure = error));
        expect((failure as Error)?.name, id).to.equal('MailboxGoneError');
      }
      await store.messages.flush();
      expect(await store.messages.count(user.id)).to.equal(0);
      expect(await database.counts()).to.deep.equal(before);
      expect(await store.messages.removeOrphanChunks(new Date(Date.now() + 60_000))).to.equal(0);
    });

    it('never shows a gap that a later message fills, with two stores delivering at once', async () => {
      const nodes = await Promise.all([0, 1].map(() => database.open({ delivers: true })));
      const reader = await database.open();
      try {
        const user = await createTestUser(reader);
        let writing = true;
        const snapshots: number[][] = [];
        const reading = (async () => {
          while (writing) {
            snapshots.push((await reader.messages.list(user.id)).map((m) => m.uid));
            await new Promise((resolve) => setImmediate(resolve));
          }
        })();
        await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            (nodes[i % 2] as Store).messages.add(user.id, Buffer.from(`m${i}`), new Date()),
          ),
        );
        writing = false;
        await reading;
        snapshots.push((await reader.messages.list(user.id)).map((m) => m.uid));

        expect(snapshots.length).to.be.greaterThan(3);
        for (const uids of snapshots) {
          // Every snapshot is 1..k: nothing visible above a UID that is not visible yet.
          expect(uids, `snapshot ${uids.join(',')}`).to.deep.equal(uids.map((_, i) => i + 1));
        }
        expect(snapshots[snapshots.length - 1]).to.have.length(30);
      } finally {
        await Promise.all([...nodes, reader].map((node) => node.close()));
      }
    });
  });
});
