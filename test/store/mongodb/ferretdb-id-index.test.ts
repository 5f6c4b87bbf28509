/**
 * The embedded FerretDB answers lookups by `_id` from its `_id` index. Upstream FerretDB 1.24
 * scans the table instead (the query's expression differs from the index's), which made every
 * per-message store call grow with the mail stored server-wide; scripts/setup.sh builds it with
 * scripts/ferretdb/0001-*.patch (docs/decisions/0004-ferretdb-id-index.md). This fails if the
 * build ran without the patch. On a real MongoDB there is nothing to check.
 */
import { expect } from 'chai';
import { MongoClient, ObjectId } from 'mongodb';
import { testMongoUrl, uniqueDatabaseName } from '../../helpers/services';

describe('embedded FerretDB build', function () {
  let client: MongoClient;

  before(async function () {
    client = await MongoClient.connect(testMongoUrl());
    const info = await client.db('admin').command({ buildInfo: 1 });
    if (typeof info.ferretdbVersion !== 'string') this.skip();
  });

  after(async () => client?.close());

  it('is the patched build', async () => {
    const info = await client.db('admin').command({ buildInfo: 1 });
    expect(info.ferretdbVersion).to.match(/-kzymy\d+$/);
  });

  for (const kind of ['string', 'ObjectId'] as const) {
    it(`looks up a ${kind} _id through the _id index, not a table scan`, async () => {
      const db = client.db(uniqueDatabaseName('idx'));
      const collection = db.collection<{ _id: string | ObjectId; n: number }>('things');
      const inserted = await collection.insertMany(
        Array.from({ length: 20 }, (_, n) => ({
          _id: kind === 'string' ? `thing-${n}` : new ObjectId(),
          n,
        })),
      );
      const probe = inserted.insertedIds[7];
      const explained = await db.command({ explain: { find: 'things', filter: { _id: probe } } });
      const plan = (explained.queryPlanner as { Plan: string[] }).Plan.join('\n');
      expect(plan).to.match(/SEARCH .* USING INDEX .*__id_/);
      expect(plan).not.to.match(/\bSCAN\b/);
      expect((await collection.findOne({ _id: probe }))?.n).to.equal(7);
      await db.dropDatabase();
    });
  }
});
