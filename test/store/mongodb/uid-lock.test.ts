/**
 * mongodb engine: UIDs are taken and the metadata written under a per-user lock shared through
 * Redis (src/redis/user-lock.ts), which is what keeps them visible in order across SMTP nodes
 * (the conformance test in test/store/uids.test.ts). When the lock cannot be had, the delivery
 * fails closed. (The sqlite engine needs no lock: its write transaction is the order.)
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { redisUserLock } from '../../../src/redis/user-lock';
import { connectRedis } from '../../../src/redis/connection';
import { MongoStore } from '../../../src/store/mongodb/store';
import {
  testMongoUrl,
  testRedisUrl,
  uniqueDatabaseName,
  createTestUser,
} from '../../helpers/services';

describe('store [mongodb]: the per-user UID lock', () => {
  it('fails closed when the lock cannot be had: the delivery throws and stores nothing', async () => {
    const database = uniqueDatabaseName();
    const prefix = `uid-order-${randomBytes(4).toString('hex')}:`;
    const redis = await connectRedis(testRedisUrl());
    const store = await MongoStore.open({
      url: testMongoUrl(),
      database,
      userLock: redisUserLock(redis, prefix),
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
