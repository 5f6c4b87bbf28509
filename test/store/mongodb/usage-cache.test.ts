/**
 * mongodb engine: the quota's stored-bytes total (src/redis/usage-cache.ts), filled once from
 * the store's sum, then moved by every store and delete, in any process, without summing again.
 * (The sqlite engine keeps the total in the user's row, moved in each delivery's transaction.)
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { Redis } from '../../../src/redis/connection';
import { connectRedis } from '../../../src/redis/connection';
import { redisUsageCache } from '../../../src/redis/usage-cache';
import { MongoStore } from '../../../src/store/mongodb/store';
import type { User } from '../../../src/store/types';
import {
  testMongoUrl,
  testRedisUrl,
  uniqueDatabaseName,
  createTestUser,
} from '../../helpers/services';

describe('store [mongodb]: the cached stored-bytes total for the quota', () => {
  const database = uniqueDatabaseName();
  const prefix = `kzymy-${randomBytes(4).toString('hex')}:`;
  let redis: Redis;
  /** Two processes' stores on one database and one Redis: an SMTP node and a daemon. */
  let smtp: MongoStore;
  let daemon: MongoStore;
  let user: User;

  before(async () => {
    redis = await connectRedis(testRedisUrl());
    const open = (ttl?: number) =>
      MongoStore.open({
        url: testMongoUrl(),
        database,
        usage: redisUsageCache(redis, prefix, ttl),
      });
    smtp = await open();
    daemon = await open();
    user = await createTestUser(smtp);
  });
  after(async () => {
    await smtp.close();
    await daemon.close();
    redis.disconnect();
  });

  const cached = async (): Promise<string | null> => redis.get(`${prefix}usage:${user.id}`);

  it('fills from the store once, then follows stores and deletes made by any process', async () => {
    const first = await smtp.messages.add(user.id, Buffer.alloc(1000), new Date());
    // Nothing cached yet: the delta had no total to move, so none was invented.
    expect(await cached()).to.equal(null);
    expect(await smtp.messages.usedBytes(user.id)).to.equal(1000);
    expect(await cached()).to.equal('1000');

    const second = await smtp.messages.add(user.id, Buffer.alloc(500), new Date());
    expect(await cached()).to.equal('1500');
    await daemon.messages.remove(user.id, [first.id]);
    expect(await cached()).to.equal('500');
    expect(await smtp.messages.usedBytes(user.id)).to.equal(500);

    // A delete that removed nothing (another session was first) moves nothing.
    await daemon.messages.remove(user.id, [first.id]);
    expect(await smtp.messages.usedBytes(user.id)).to.equal(await smtp.messages.sumBytes(user.id));
    await daemon.messages.remove(user.id, [second.id]);
    expect(await smtp.messages.usedBytes(user.id)).to.equal(0);
  });

  it('returns to the store’s sum when the total expires', async () => {
    await redis.set(`${prefix}usage:${user.id}`, '999999', 'EX', 1);
    expect(await smtp.messages.usedBytes(user.id)).to.equal(999999);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await smtp.messages.usedBytes(user.id)).to.equal(0);
  });

  it('answers from the store when Redis is unavailable', async () => {
    await smtp.messages.add(user.id, Buffer.alloc(300), new Date());
    const broken = await connectRedis(testRedisUrl());
    broken.disconnect();
    const store = await MongoStore.open({
      url: testMongoUrl(),
      database,
      usage: redisUsageCache(broken, prefix),
    });
    try {
      expect(await store.messages.usedBytes(user.id)).to.equal(300);
    } finally {
      await store.close();
    }
  });

  it('forgets the total of a deleted user', async () => {
    await smtp.messages.usedBytes(user.id);
    expect(await cached()).not.to.equal(null);
    await daemon.deleteUser(user.id);
    expect(await cached()).to.equal(null);
  });
});
