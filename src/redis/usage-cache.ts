/**
 * The bytes each user holds, cached in Redis for the quota check on every RCPT TO.
 *
 * The store's answer is a sum over the user's messages — a scan of every user's messages on the
 * embedded FerretDB — too dear to run per recipient. The cache is filled from that sum, moved by
 * each store and delete in any process, and expires, so the store's sum is the truth it returns to:
 *
 * - a delta is applied only to an entry that exists (never creates a wrong total from nothing);
 * - a fill that raced a delivery may miss that one message, and a process that died between a
 *   delete and its delta leaves a total too high; either lasts until the entry expires.
 *
 * The quota is a limit on resources, not an invariant, and a 452 makes a sender retry later, so
 * minutes of imprecision are an acceptable price for never summing on the RCPT path.
 */
import type { Redis } from 'ioredis';
import type { UsageCache } from '../store/mongodb/messages';

/** How long a filled total is trusted before it is summed afresh. */
export const USAGE_TTL_SECONDS = 300;

const ADD_IF_PRESENT = `if redis.call('exists', KEYS[1]) == 1 then return redis.call('incrby', KEYS[1], ARGV[1]) else return nil end`;

export function redisUsageCache(
  redis: Redis,
  prefix: string,
  ttlSeconds = USAGE_TTL_SECONDS,
): UsageCache {
  const key = (userId: string): string => `${prefix}usage:${userId}`;
  return {
    async get(userId) {
      const value = await redis.get(key(userId));
      return value === null ? null : Number(value);
    },
    async fill(userId, bytes) {
      // NX: a total another process filled (and has been moving since) is the better one.
      await redis.set(key(userId), String(bytes), 'EX', ttlSeconds, 'NX');
    },
    async add(userId, delta) {
      await redis.eval(ADD_IF_PRESENT, 1, key(userId), String(delta));
    },
    async forget(userId) {
      await redis.del(key(userId));
    },
  };
}
