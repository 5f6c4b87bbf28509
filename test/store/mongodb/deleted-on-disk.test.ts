/**
 * mongodb engine on the embedded FerretDB: deleted means deleted in its SQLite files once the log
 * has been checkpointed — at the latest when FerretDB stops. It runs with secure_delete
 * (src/embedded/services.ts, FERRETDB_SQLITE_PRAGMAS): without it, this test finds the deleted
 * ciphertext in the database file after the stop. While FerretDB runs, the log still holds it
 * (FerretDB checkpoints only as the log fills, and kzymy cannot ask it to); a MongoDB server in
 * production keeps deleted data its own way (docs/threat-model.md).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { startFerretDb } from '../../../src/embedded/services';
import { MongoStore } from '../../../src/store/mongodb/store';
import { createTestUser, testDataDir } from '../../helpers/services';
import { expectBytes } from '../../helpers/bytes';

async function filesHolding(dir: string, needles: Buffer[]): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const bytes = await readFile(path);
    if (needles.some((needle) => bytes.includes(needle))) found.push(path);
  }
  return found;
}

describe('store [mongodb]: deleted means deleted in the embedded FerretDB’s files', function () {
  this.timeout(60_000);

  it('leaves no byte of a fetched and deleted message in FerretDB’s files after it stops', async () => {
    const dataDir = mkdtempSync(join(testDataDir(), 'ferret-delete-'));
    const ferret = await startFerretDb({ dataDir, port: 0 });
    let stopped = false;
    try {
      const store = await MongoStore.open({ url: ferret.url, database: 'kzymy' });
      const user = await createTestUser(store);
      const ciphertext = Buffer.from(randomBytes(30_000).toString('base64'));
      const message = await store.messages.add(user.id, ciphertext, new Date());
      expectBytes(await store.messages.read(user.id, message), ciphertext);
      await store.messages.markFetched(user.id, [message.id], new Date());
      const needles = [
        ciphertext.subarray(10_000, 10_048),
        ciphertext.subarray(30_000, 30_048),
        Buffer.from(`${user.id}:${message.id}`),
      ];
      // The search reads FerretDB's files: the message is found there before the delete.
      expect(await filesHolding(dataDir, needles)).to.not.deep.equal([]);
      expect(await store.messages.remove(user.id, [message.id])).to.equal(1);
      await store.close();
      await ferret.stop();
      stopped = true;
      expect(await filesHolding(dataDir, needles)).to.deep.equal([]);
    } finally {
      if (!stopped) await ferret.stop();
    }
  });
});
