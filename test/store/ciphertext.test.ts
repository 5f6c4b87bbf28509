/**
 * Conformance: ciphertext in and out. A 35 MB message round-trips byte-exact and leaves nothing
 * when deleted; pieces produced while they are written are stored whole or not at all; deletes
 * by concurrent sessions count each message once; the quota total follows.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { Store } from '../../src/store/store';
import { forEachEngine, testDatabase, type TestDatabase } from '../helpers/engines';
import { createTestUser } from '../helpers/services';
import { expectBytes } from '../helpers/bytes';

describe('store: ciphertext', () => {
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

    it('round-trips a 35 MB ciphertext byte-exact, and deleting it leaves no piece', async function () {
      this.timeout(120_000);
      const user = await createTestUser(store);
      const before = await database.counts();
      const ciphertext = randomBytes(35 * 1024 * 1024);
      const stored = await store.messages.add(user.id, ciphertext, new Date());
      expect(stored.size).to.equal(ciphertext.length);
      expect(await store.messages.usedBytes(user.id)).to.equal(ciphertext.length);
      expect((await database.counts()).chunks - before.chunks).to.equal(
        Math.ceil(ciphertext.length / store.messages.chunkBytes),
      );

      const back = await store.messages.read(user.id, stored);
      expectBytes(back, ciphertext);
      // A range across a chunk boundary reads exactly those bytes.
      const start = store.messages.chunkBytes - 7;
      const slice = await store.messages.readRange(user.id, stored, start, start + 100);
      expectBytes(slice, ciphertext.subarray(start, start + 100));
      // A range past the end stops at the end.
      const tail = await store.messages.readRange(user.id, stored, ciphertext.length - 5, 1e12);
      expectBytes(tail, ciphertext.subarray(ciphertext.length - 5));

      expect(await store.messages.remove(user.id, [stored.id])).to.equal(1);
      await store.messages.flush();
      expect(await database.counts()).to.deep.equal(before);
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
      const sessions = await Promise.all([0, 1, 2, 3].map(() => database.open()));
      try {
        const messages = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            store.messages.add(user.id, Buffer.alloc(100 + i), new Date()),
          ),
        );
        const ids = messages.map((message) => message.id);
        // Four daemons' sessions, and this one, all delete every message at once.
        const removed = await Promise.all(
          [store, ...sessions].map((session) => session.messages.remove(user.id, ids)),
        );
        expect(removed.reduce((sum, count) => sum + count, 0)).to.equal(10);
        expect(await store.messages.count(user.id)).to.equal(0);
        expect(await store.messages.usedBytes(user.id)).to.equal(0);
      } finally {
        await Promise.all(sessions.map((session) => session.close()));
      }
    });

    it('writes a ciphertext given in pieces as they are produced, chunk by chunk', async () => {
      const user = await createTestUser(store);
      const before = await database.counts();
      const ciphertext = randomBytes(2 * 1024 * 1024 + 333);
      const sizes = [1, 700 * 1024, 900 * 1024, 3, 57];
      async function* produced(): AsyncIterable<Buffer> {
        let at = 0;
        for (let n = 0; at < ciphertext.length; n++) {
          const size = sizes[n % sizes.length]!;
          yield ciphertext.subarray(at, at + size);
          at += size;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      const stored = await store.messages.add(user.id, produced(), new Date());
      expect(stored.size).to.equal(ciphertext.length);
      expectBytes(await store.messages.read(user.id, stored), ciphertext);
      expect((await database.counts()).chunks - before.chunks).to.equal(
        Math.ceil(ciphertext.length / store.messages.chunkBytes),
      );
      expect(await store.messages.usedBytes(user.id)).to.equal(ciphertext.length);
    });

    it('stores an empty ciphertext and a one-byte one', async () => {
      const user = await createTestUser(store);
      const empty = await store.messages.add(user.id, Buffer.alloc(0), new Date());
      const one = await store.messages.add(user.id, [Buffer.from('x')], new Date());
      expect((await store.messages.read(user.id, empty)).length).to.equal(0);
      expect((await store.messages.read(user.id, one)).toString()).to.equal('x');
    });

    it('leaves nothing behind when the pieces fail midway (encryption died after two chunks)', async () => {
      const user = await createTestUser(store);
      await store.messages.flush(); // the earlier tests' markers (mongodb)
      const before = await database.counts();
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
      await store.messages.flush();
      expect(await database.counts()).to.deep.equal(before);
      expect(await store.messages.count(user.id)).to.equal(0);
      expect(await store.messages.usedBytes(user.id)).to.equal(0);
      // And the next delivery is whole.
      const next = await store.messages.add(user.id, Buffer.from('next'), new Date());
      expect((await store.messages.read(user.id, next)).toString()).to.equal('next');
    });

    it('refuses to commit a message encrypted to a key the user no longer has', async () => {
      const user = await createTestUser(store, { publicKey: 'new key' });
      await store.messages.flush();
      const before = await database.counts();
      const outcome = await store.messages
        .add(user.id, Buffer.from('to the old key'), new Date(), { encryptedTo: 'old key' })
        .then(
          () => 'stored',
          (error: Error) => error.name,
        );
      expect(outcome).to.equal('MailboxGoneError');
      expect(await store.messages.count(user.id)).to.equal(0);
      await store.messages.flush();
      expect(await database.counts()).to.deep.equal(before);
      // The same key as the user's commits.
      await store.messages.add(user.id, Buffer.from('ok'), new Date(), { encryptedTo: 'new key' });
      expect(await store.messages.count(user.id)).to.equal(1);
    });

    it('purging a user leaves none of her messages or their ciphertext', async () => {
      const user = await createTestUser(store);
      const other = await createTestUser(store);
      await store.messages.add(other.id, Buffer.from('stays'), new Date());
      await store.messages.flush();
      const before = await database.counts();
      for (let i = 0; i < 4; i++)
        await store.messages.add(user.id, randomBytes(600 * 1024), new Date());
      await store.messages.purgeUser(user.id);
      await store.messages.flush();
      expect(await database.counts()).to.deep.equal(before);
      expect(await store.messages.count(user.id)).to.equal(0);
      expect(await store.messages.usedBytes(user.id)).to.equal(0);
      expect(await store.messages.count(other.id)).to.equal(1);
    });
  });
});
