/**
 * The per-user UID lock queues (src/redis/user-lock.ts): deliveries to one user wait their turn,
 * in arrival order, for as long as the line takes (up to the deadline), across processes; a
 * waiter past its deadline, or one whose process died, leaves the line without blocking it.
 * Real Redis; two lock instances stand for two SMTP processes.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { connectRedis } from '../../src/redis/connection';
import { redisUserLock } from '../../src/redis/user-lock';
import { testRedisUrl } from '../helpers/services';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('store: the per-user UID lock queues', function () {
  this.timeout(60_000);
  let redis: Redis;
  let prefix: string;
  const user = 'u1';

  beforeEach(async () => {
    redis = await connectRedis(testRedisUrl());
    prefix = `uid-lock-${randomBytes(4).toString('hex')}:`;
  });
  afterEach(() => redis.disconnect());

  it('serves 40 waiters of two processes one at a time, for longer than the old 5 s wait', async () => {
    const nodes = [redisUserLock(redis, prefix), redisUserLock(redis, prefix)];
    let holding = 0;
    let most = 0;
    let served = 0;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (nodes[i % 2] as (typeof nodes)[0])(user, async () => {
          holding += 1;
          most = Math.max(most, holding);
          await sleep(150);
          holding -= 1;
          served += 1;
        }),
      ),
    );
    expect(served).to.equal(40);
    expect(most).to.equal(1);
    expect(Date.now() - started).to.be.above(6000);
    // Nothing is left behind in Redis but what expires by itself.
    expect(await redis.exists(`${prefix}uid-lock:${user}`)).to.equal(0);
    expect(await redis.zcard(`${prefix}uid-line:${user}`)).to.equal(0);
  });

  it('serves the waiters of one process in arrival order', async () => {
    const lock = redisUserLock(redis, prefix);
    const order: number[] = [];
    const waits: Array<Promise<void>> = [];
    for (let i = 0; i < 10; i++) {
      waits.push(
        lock(user, async () => {
          order.push(i);
          await sleep(20);
        }),
      );
      await sleep(2);
    }
    await Promise.all(waits);
    expect(order).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('a waiter past its deadline gives up with LockTimeoutError and leaves the line', async () => {
    await redis.set(`${prefix}uid-lock:${user}`, 'held-elsewhere', 'PX', 10_000);
    const lock = redisUserLock(redis, prefix, { waitMs: 300 });
    const failure = await lock(user, async () => 'ran').catch((error: Error) => error);
    expect((failure as Error).name).to.equal('LockTimeoutError');
    expect(await redis.zcard(`${prefix}uid-line:${user}`)).to.equal(0);
  });

  it('a waiter whose process died drops out of the line and blocks nobody for long', async () => {
    // A waiter at the head of the line that stopped asking: alive until 300 ms from now.
    const [seconds, micros] = (await redis.time()) as [number | string, number | string];
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    await redis.zadd(`${prefix}uid-line:${user}`, now - 1000, 'ghost');
    await redis.zadd(`${prefix}uid-line-alive:${user}`, now + 300, 'ghost');
    const lock = redisUserLock(redis, prefix);
    const started = Date.now();
    expect(await lock(user, async () => 'ran')).to.equal('ran');
    expect(Date.now() - started).to.be.within(200, 3000);
  });
});
