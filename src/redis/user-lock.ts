/**
 * A short per-user lock in Redis, shared by every SMTP node. It orders what readers must see in
 * order: a message's UID is taken and its metadata written under the lock, so no message becomes
 * visible with a UID below one a client has already seen (RFC 3501 §2.3.1.1: UIDs "MUST be
 * strictly ascending"; a client that remembers the highest UID it pulled, as mbsync does, would
 * never ask for a lower one that appeared later).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { UserLock } from '../store/mongodb/messages';

/** The section to protect is two database writes; far less than this. */
const HOLD_MS = 10_000;
const WAIT_MS = 5_000;

// Deletes the key only if it still holds our token: never release a lock that expired and was
// taken by someone else meanwhile.
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class LockTimeoutError extends Error {
  override name = 'LockTimeoutError';
}

export function redisUserLock(redis: Redis, prefix: string): UserLock {
  return async <T>(userId: string, task: () => Promise<T>): Promise<T> => {
    const key = `${prefix}uid-lock:${userId}`;
    const token = randomBytes(12).toString('hex');
    const deadline = Date.now() + WAIT_MS;
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      if ((await redis.set(key, token, 'PX', HOLD_MS, 'NX')) === 'OK') break;
      // Fail closed: the caller answers 4xx and the sender retries later.
      if (Date.now() > deadline) throw new LockTimeoutError('mailbox busy');
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    try {
      return await task();
    } finally {
      await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
    }
  };
}
