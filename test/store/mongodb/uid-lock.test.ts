/**
 * mongodb engine: UIDs are taken and the metadata written under a per-user lock shared through
 * Redis (src/redis/user-lock.ts), which is what keeps them visible in order across SMTP nodes
 * (the conformance test in test/store/uids.test.ts). (The sqlite engine needs no lock: its write
 * transaction is the order.)
 *
 * The lock queues: deliveries to one user wait their turn, in arrival order, for as long as the
 * line takes (up to the deadline), across processes; a waiter past its deadline fails closed and
 * leaves the line, and one whose process died drops out of it without blocking it. Each test
 * delivers through MongoStores on the run's FerretDB, two stores standing for two SMTP nodes, on
 * the run's Redis.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { connectRedis } from '../../../src/redis/connection';
import { redisUserLock, type UserLockOptions } from '../../../src/redis/user-lock';
import type { UserLock } from '../../../src/store/mongodb/messages';
import { MongoStore } from '../../../src/store/mongodb/store';
import type { User } from '../../../src/store/types';
import {
  testMongoUrl,
  testRedisUrl,
  uniqueDatabaseName,
  createTestUser,
} from '../../helpers/services';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('store [mongodb]: the per-user UID lock', function () {
  this.timeout(120_000);
  let redis: Redis;
  let prefix: string;
  let database: string;
  const stores: MongoStore[] = [];

  /** One SMTP node: a store on the test's database that delivers under the shared lock. */
  const node = async (lock: UserLock = redisUserLock(redis, prefix)): Promise<MongoStore> => {
    const store = await MongoStore.open({ url: testMongoUrl(), database, userLock: lock });
    stores.push(store);
    return store;
  };
  const keys = (user: User) => ({
    lock: `${prefix}uid-lock:${user.id}`,
    line: `${prefix}uid-line:${user.id}`,
    alive: `${prefix}uid-line-alive:${user.id}`,
  });

  beforeEach(async () => {
    redis = await connectRedis(testRedisUrl());
    prefix = `uid-lock-${randomBytes(4).toString('hex')}:`;
    database = uniqueDatabaseName();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    redis.disconnect();
  });

  it('fails closed past its deadline: LockTimeoutError, nothing stored, the line left', async () => {
    // The wait is bounded (two minutes by default; one second here).
    const options: UserLockOptions = { waitMs: 1000 };
    const store = await node(redisUserLock(redis, prefix, options));
    const user = await createTestUser(store);
    // Another node holds the lock and never lets go (until its 10 s expiry).
    await redis.set(keys(user).lock, 'someone-else', 'PX', 10_000);
    let failure: unknown;
    await store.messages
      .add(user.id, Buffer.from('x'), new Date())
      .catch((error: unknown) => (failure = error));
    expect((failure as Error)?.name).to.equal('LockTimeoutError');
    expect(await store.messages.count(user.id)).to.equal(0);
    expect(await store.messages.removeOrphanChunks(new Date(Date.now() + 60_000))).to.equal(0);
    expect(await redis.zcard(keys(user).line)).to.equal(0);
  });

  it('40 deliveries of two nodes wait behind a lock held for 6 s (past the old 5 s wait), one at a time, and all are stored', async () => {
    let holding = 0;
    let most = 0;
    // The real lock, watched: how many deliveries hold it at once, across both nodes.
    const watched = (): UserLock => {
      const lock = redisUserLock(redis, prefix);
      return (userId, task) =>
        lock(userId, async () => {
          holding += 1;
          most = Math.max(most, holding);
          try {
            return await task();
          } finally {
            holding -= 1;
          }
        });
    };
    const nodes = [await node(watched()), await node(watched())];
    const user = await createTestUser(nodes[0] as MongoStore);
    await redis.set(keys(user).lock, 'someone-else', 'PX', 6000);
    const started = Date.now();
    const stored = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (nodes[i % 2] as MongoStore).messages.add(user.id, Buffer.from(`m${i}`), new Date()),
      ),
    );
    expect(Date.now() - started).to.be.above(5500);
    expect(most).to.equal(1);
    expect(stored.map((message) => message.uid).sort((a, b) => a - b)).to.deep.equal(
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    expect(await (nodes[1] as MongoStore).messages.count(user.id)).to.equal(40);
    // Nothing is left behind in Redis but what expires by itself.
    expect(await redis.exists(keys(user).lock)).to.equal(0);
    expect(await redis.zcard(keys(user).line)).to.equal(0);
  });

  it("serves one node's deliveries in arrival order", async () => {
    const store = await node();
    const user = await createTestUser(store);
    // Held while the deliveries arrive, so that each has reached the line before the next.
    await redis.set(keys(user).lock, 'someone-else', 'PX', 60_000);
    const deliveries: Array<Promise<{ uid: number }>> = [];
    for (let i = 0; i < 10; i++) {
      deliveries.push(store.messages.add(user.id, Buffer.from(`m${i}`), new Date()));
      await sleep(200);
    }
    await redis.del(keys(user).lock);
    const stored = await Promise.all(deliveries);
    expect(stored.map((message) => message.uid)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('a waiter whose process died drops out of the line and blocks nobody for long', async () => {
    const store = await node();
    const user = await createTestUser(store);
    // A waiter at the head of the line that stopped asking: alive until 300 ms from now.
    const [seconds, micros] = (await redis.time()) as [number | string, number | string];
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    await redis.zadd(keys(user).line, now - 1000, 'ghost');
    await redis.zadd(keys(user).alive, now + 300, 'ghost');
    const started = Date.now();
    const stored = await store.messages.add(user.id, Buffer.from('x'), new Date());
    expect(Date.now() - started).to.be.within(200, 3000);
    expect(stored.uid).to.equal(1);
    expect(await redis.zcard(keys(user).line)).to.equal(0);
  });
});
