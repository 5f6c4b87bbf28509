/**
 * Redis connections for commands (counters, locks, publishing); subscribers open their own.
 * src/redis/ is the only place that imports ioredis (an eslint rule keeps it so): the rest of
 * kzymy names the connection type through this module.
 */
import { Redis } from 'ioredis';

export type { Redis } from 'ioredis';

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

/**
 * Connects once, without retries, answers PING and disconnects (`kzymy doctor`). Throws the
 * socket's own error (ECONNREFUSED, WRONGPASS, ...) rather than ioredis's generic one.
 */
export async function probeRedis(url: string, timeoutMs: number): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // Without a listener ioredis prints each connection error, with the host in it. The socket's
  // own error arrives here; connect() then rejects with a generic one.
  let socketError: unknown;
  redis.on('error', (error: unknown) => {
    socketError ??= error;
  });
  try {
    await redis.connect();
    const pong = await redis.ping();
    if (pong !== 'PONG') throw new Error('unexpected PING reply');
  } catch (error) {
    throw socketError ?? error;
  } finally {
    redis.disconnect();
  }
}
