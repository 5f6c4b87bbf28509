/** Conformance: several processes open one database, one after another or at the same time. */
import { expect } from 'chai';
import { forEachEngine, testDatabase } from '../helpers/engines';
import { createTestUser } from '../helpers/services';

describe('store: several processes on one database', () => {
  forEachEngine((engine) => {
    it('opens a store again on an existing database, and several at once on a new one', async () => {
      const database = testDatabase(engine);
      // At once on a new database: they race to create tables (sqlite) or indexes (mongodb;
      // FerretDB 1.24 panicked on re-declared indexes).
      const [first, second, third] = await Promise.all([0, 1, 2].map(() => database.open()));
      try {
        const user = await createTestUser(first!);
        await second!.messages.add(user.id, Buffer.from('via second'), new Date());
        expect((await third!.messages.list(user.id)).map((message) => message.uid)).to.deep.equal([
          1,
        ]);
        await Promise.all([first!.close(), second!.close(), third!.close()]);
        const again = await database.open();
        try {
          expect(await again.messages.count(user.id)).to.equal(1);
          await again.ping();
        } finally {
          await again.close();
        }
      } finally {
        await database.close();
      }
    });
  });
});
