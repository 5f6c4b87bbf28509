/**
 * sqlite engine: Haraka and the daemon are separate processes on one file. Two processes
 * delivering to one user at once each take the write lock for a whole delivery (BEGIN IMMEDIATE,
 * waiting rather than failing), so UIDs stay strictly increasing and become visible in order
 * (RFC 3501 §2.3.1.1), with no lock of kzymy's own; and a process starting meanwhile opens its
 * read connection without waiting for the lock.
 */
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { openStore } from '../../../src/store/open';
import { openConnection } from '../../../src/store/sqlite/schema';
import type { Store } from '../../../src/store/store';
import { createTestUser, uniqueSqliteFile } from '../../helpers/services';
import { startStoreChild } from './child';
import { wholeLabel } from './fixtures/pattern';

describe('store [sqlite]: several processes on one file', function () {
  this.timeout(120_000);
  let store: Store;
  let file: string;
  before(async () => {
    file = uniqueSqliteFile();
    store = await openStore({ engine: 'sqlite', file });
  });
  after(async () => store.close());

  it('two processes delivering to one user at once: UIDs strictly increasing and visible in order', async () => {
    const user = await createTestUser(store);
    const children = ['a', 'b'].map((prefix, i) =>
      startStoreChild(file, user.id, 'parallel', 40, 2000 + i * 70_000, prefix),
    );
    let running = true;
    const done = Promise.all(children.map((child) => child.exited)).finally(
      () => (running = false),
    );
    const snapshots: number[][] = [];
    while (running) {
      snapshots.push((await store.messages.list(user.id)).map((message) => message.uid));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    for (const exit of await done) expect(exit, exit.stderr).to.include({ code: 0 });

    const messages = await store.messages.list(user.id);
    snapshots.push(messages.map((message) => message.uid));
    expect(snapshots.length).to.be.greaterThan(5);
    for (const uids of snapshots)
      expect(uids, `snapshot ${uids.join(',')}`).to.deep.equal(uids.map((_, i) => i + 1));
    expect(messages).to.have.length(80);
    // Each child's UIDs are what it was told, and each message is whole and its own.
    const reported = new Map(
      children.flatMap((child) => child.stored.map((s) => [s.label, s.uid])),
    );
    expect(reported.size).to.equal(80);
    for (const message of messages) {
      const label = wholeLabel(await store.messages.read(user.id, message));
      expect(label, `uid ${message.uid}`).to.not.equal(null);
      expect(reported.get(label as string)).to.equal(message.uid);
    }
    expect(await store.messages.usedBytes(user.id)).to.equal(
      await store.messages.sumBytes(user.id),
    );
  });

  it('opens its read connection while another process holds the write lock', async () => {
    // Another process in the middle of a delivery: its write transaction holds the lock.
    const writer = new Database(file);
    writer.exec('BEGIN IMMEDIATE');
    try {
      // What a starting process does once its writer thread is up: busy timeout 0, never waits.
      const reader = openConnection(file, { busyTimeoutMs: 0, create: false });
      try {
        const row = reader.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number };
        expect(row.n).to.be.at.least(1);
      } finally {
        reader.close();
      }
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
  });
});
