/**
 * Messages become visible in UID order even when several processes store mail for one user at
 * once: a client that saw UID n must never later find a new message below n (RFC 3501
 * §2.3.1.1). Two Store instances stand for two SMTP nodes; a reader lists the mailbox throughout.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { redisUserLock } from '../../src/events/user-lock';
import { connectRedis } from '../../src/events/redis';
import { Store } from '../../src/store/store';
import {
  testMongoUrl,
  testRedisUrl,
  uniqueDatabaseName,
  createTestUser,
} from '../helpers/services';

describe('store: UIDs become visible in order across processes', function () {
  this.timeout(120_000);

  it('never shows a gap that a later message fills, with a lock shared through Redis', async () => {
    const database = uniqueDatabaseName();
    const prefix = `uid-order-${randomBytes(4).toString('hex')}:`;
    const redis = await connectRedis(testRedisUrl());
    const lock = redisUserLock(redis, prefix);
    const nodes = await Promise.all(
      [0, 1].map(() => Store.open({ url: testMongoUrl(), database, userLock: lock })),
    );
    const reader = await Store.open({ url: testMongoUrl(), database });
    try {
      const user = await createTestUser(reader);
      let writing = true;
      const snapshots: number[][] = [];
      const reading = (async () => {
        while (writing) snapshots.push((await reader.messages.list(user.id)).map((m) => m.uid));
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
      await Promise.all([...nodes, reader].map((store) => store.close()));
      redis.disconnect();
    }
  });

  it('fails closed when the lock cannot be had: the delivery throws and stores nothing', async () => {
    const database = uniqueDatabaseName();
    const prefix = `uid-order-${randomBytes(4).toString('hex')}:`;
    const redis = await connectRedis(testRedisUrl());
    const store = await Store.open({
      url: testMongoUrl(),
      database,
      // The wait is bounded (two minutes by default; one second here).
      userLock: redisUserLock(redis, prefix, { waitMs: 1000 }),
    });
    try {
      const user = await createTestUser(store);
      // Another node holds the lock and never lets go (until its 10 s expiry).
      await redis.set(`${prefix}uid-lock:${user.id}`, 'someone-else', 'PX', 10_000);
      let failure: unknown;
      await store.messages
        .add(user.id, Buffer.from('x'), new Date())
        .catch((error: unknown) => (failure = error));
      expect((failure as Error)?.name).to.equal('LockTimeoutError');
      expect(await store.messages.count(user.id)).to.equal(0);
      expect(await store.messages.removeOrphanChunks(new Date(Date.now() + 60_000))).to.equal(0);
    } finally {
      await store.close();
      redis.disconnect();
    }
  });
});
