/**
 * sqlite engine: what a crash leaves. A process killed with SIGKILL right after a commit returned
 * (when SMTP answers 250) loses nothing: the log was synced before the commit returned. A process
 * killed in the middle of a large delivery leaves a log with frames of a transaction that never
 * committed; the next opener recovers the file without them: intact (integrity_check), and no
 * partial message visible.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { openStore } from '../../../src/store/open';
import type { Store } from '../../../src/store/store';
import type { User } from '../../../src/store/types';
import { existingDatabase } from '../../helpers/engines';
import { createTestUser, uniqueSqliteFile } from '../../helpers/services';
import { startStoreChild, type StoreChild } from './child';
import { wholeLabel } from './fixtures/pattern';

/**
 * Frames at the end of a WAL file that belong to no commit: written by a transaction that was
 * still running (https://sqlite.org/fileformat2.html#walformat: a frame header's second word is
 * the database size for a commit frame, zero otherwise; its salts match the header's while the
 * frame belongs to the current log).
 */
function uncommittedFrames(walFile: string): number {
  if (!existsSync(walFile)) return 0;
  const wal = readFileSync(walFile);
  if (wal.length < 32) return 0;
  const pageSize = wal.readUInt32BE(8);
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  let sinceCommit = 0;
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    if (wal.readUInt32BE(at + 8) !== salt1 || wal.readUInt32BE(at + 12) !== salt2) break;
    sinceCommit = wal.readUInt32BE(at + 4) !== 0 ? 0 : sinceCommit + 1;
  }
  return sinceCommit;
}

async function killed(child: StoreChild): Promise<void> {
  const exit = await child.exited;
  expect(exit.signal, exit.stderr).to.equal('SIGKILL');
}

/** Every message is whole (its bytes are its label's pattern); returns their labels. */
async function wholeMessages(store: Store, user: User): Promise<string[]> {
  const labels: string[] = [];
  for (const message of await store.messages.list(user.id)) {
    const label = wholeLabel(await store.messages.read(user.id, message));
    expect(label, `uid ${message.uid} is not whole`).to.not.equal(null);
    labels.push(label as string);
  }
  return labels;
}

describe('store [sqlite]: crashes', function () {
  this.timeout(180_000);

  it('keeps every message whose commit had returned when its process is killed -9 right after', async () => {
    const file = uniqueSqliteFile();
    const setup = await openStore({ engine: 'sqlite', file });
    const user = await createTestUser(setup);
    await setup.close();
    const reported: string[] = [];
    for (let round = 0; round < 4; round++) {
      const child = startStoreChild(file, user.id, 'parallel', 0, 20_000, `r${round}-`);
      const killAfter = 3 + round * 4;
      // SIGKILL from inside the handler that learns of the commit: no time to do anything more.
      child.onStored = () => {
        if (child.stored.length === killAfter) child.process.kill('SIGKILL');
      };
      await killed(child);
      reported.push(...child.stored.map((entry) => entry.label));
    }
    const store = await openStore({ engine: 'sqlite', file });
    try {
      const labels = await wholeMessages(store, user);
      for (const label of reported) expect(labels, label).to.include(label);
      const uids = (await store.messages.list(user.id)).map((message) => message.uid);
      expect(uids).to.deep.equal([...uids].sort((a, b) => a - b));
      expect(await store.messages.usedBytes(user.id)).to.equal(
        await store.messages.sumBytes(user.id),
      );
    } finally {
      await store.close();
    }
  });

  it('recovers a file left in the middle of a large write by kill -9: intact, no partial message', async () => {
    const file = uniqueSqliteFile();
    const setup = await openStore({ engine: 'sqlite', file });
    const user = await createTestUser(setup);
    await setup.close();
    // A small message that commits, then a large one: the log then holds committed frames and,
    // once SQLite's page cache (16 MB) spills, frames of the large one's transaction.
    const small = 1024 * 1024;
    const large = 40 * 1024 * 1024;
    let caught = 0;
    const reported: string[] = [];
    // Until a kill lands inside a transaction (almost always the first), alternating a
    // ciphertext given whole and one streamed in pieces.
    for (let round = 0; round < 6 && caught === 0; round++) {
      const mode = round % 2 === 0 ? 'whole' : 'pieces';
      const child = startStoreChild(file, user.id, mode, 2, [small, large], `big${round}-`);
      const wal = `${file}-wal`;
      let committedWal = -1;
      child.onStored = () => {
        if (child.stored.length === 1) committedWal = existsSync(wal) ? statSync(wal).size : 0;
      };
      // SIGKILL once the log has grown well past the small message's commit: the large one is
      // being written.
      const watch = setInterval(() => {
        if (committedWal < 0 || !existsSync(wal)) return;
        if (statSync(wal).size > committedWal + 4 * 1024 * 1024) {
          clearInterval(watch);
          child.process.kill('SIGKILL');
        }
      }, 1);
      const exit = await child.exited;
      clearInterval(watch);
      reported.push(...child.stored.map((entry) => entry.label));
      // A clean exit means the large one committed before the watch saw it: try again.
      if (exit.signal !== 'SIGKILL') continue;
      caught = uncommittedFrames(wal);
    }
    expect(caught, 'no kill landed inside a transaction').to.be.greaterThan(0);

    // The first opener recovers the log; the file is intact.
    const raw = new Database(file);
    try {
      expect(raw.pragma('integrity_check', { simple: true })).to.equal('ok');
    } finally {
      raw.close();
    }
    const store = await openStore({ engine: 'sqlite', file });
    try {
      const labels = await wholeMessages(store, user);
      for (const label of reported) expect(labels, label).to.include(label);
      // At most the one whose commit finished as the kill arrived, unreported but whole.
      expect(labels.length - reported.length).to.be.within(0, 1);
      expect(await store.messages.usedBytes(user.id)).to.equal(
        await store.messages.sumBytes(user.id),
      );
      // No chunk without its message.
      const counts = await existingDatabase('sqlite', file).counts();
      const chunksOf = (label: string): number =>
        Math.ceil((label.endsWith('-0') ? small : large) / store.messages.chunkBytes);
      expect(counts.chunks).to.equal(labels.reduce((sum, label) => sum + chunksOf(label), 0));
      // And the store takes new mail.
      await store.messages.add(user.id, Buffer.from('after the crash'), new Date());
    } finally {
      await store.close();
    }
  });
});
