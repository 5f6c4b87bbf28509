/**
 * At most CODES_PER_HOUR code messages per account and hour, counted in Redis across daemons:
 * each one is a message to an address nobody has proven yet, so an account must not become a
 * way to flood a stranger's mailbox. It binds only the account that sends them (nothing a
 * stranger does can use it up), and the operator's `kzymy user set` is not counted.
 */
import type { Redis } from '../redis/connection';

export const CODES_PER_HOUR = 5;

export interface CodeLimit {
  /** Counts one code message; false if the account has sent its allowance this hour. */
  take(userId: string, now: Date): Promise<boolean>;
}

export function redisCodeLimit(redis: Redis, prefix: string): CodeLimit {
  return {
    async take(userId, now) {
      const hour = Math.floor(now.getTime() / 3_600_000);
      const key = `${prefix}forward:codes:${userId}:${hour}`;
      const [[, count]] = (await redis.multi().incr(key).expire(key, 3600).exec()) as [
        [Error | null, number],
        [Error | null, number],
      ];
      return count <= CODES_PER_HOUR;
    },
  };
}
