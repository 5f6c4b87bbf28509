/** Redis connections for commands (counters, locks, publishing). Subscribers open their own. */
import { Redis } from 'ioredis';

export async function connectRedis(url: string): Promise<Redis> {
  // Fail fast rather than queue forever: a caller on the SMTP path must be able to answer 4xx.
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: false,
  });
  await redis.connect();
  return redis;
}
