/**
 * A short per-user lock in Redis, shared by every SMTP node. It orders what readers must see in
 * order: a message's UID is taken and its metadata written under the lock, so no message becomes
 * visible with a UID below one a client has already seen (RFC 3501 §2.3.1.1: UIDs "MUST be
 * strictly ascending"; a client that remembers the highest UID it pulled, as mbsync does, would
 * never ask for a lower one that appeared later).
 *
 * The lock queues. Deliveries to one user wait their turn rather than race for the lock and give
 * up after a few seconds (which, under 50 concurrent senders, answered 1.8% of them 451):
 * - in one process, waiters line up in arrival order (KeyedMutex), and only the first of them
 *   asks Redis;
 * - in Redis, the processes' waiters line up in a sorted set by arrival, and the lock goes to the
 *   head of the line. Each waiter keeps its place alive by asking again every few milliseconds; a
 *   waiter that stops asking (its process died) drops out of the line after WAITER_TTL_MS.
 * A wait is still bounded: past the deadline (two minutes, below the SMTP hook's own timeout) the
 * delivery fails closed, answers 451 and the sender retries, rather than hang.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { UserLock } from '../store/mongodb/messages';
import { KeyedMutex } from '../util/keyed-mutex';

/** The section to protect is two database writes; far less than this. */
const HOLD_MS = 10_000;
/** The longest a delivery waits for its turn. */
const WAIT_MS = 120_000;
/** A waiter that has not asked for this long has gone: it leaves the line. */
const WAITER_TTL_MS = 3_000;

// KEYS: the lock, the line (token → arrival ms), the waiters' liveness (token → expiry ms).
// ARGV: token, hold ms, waiter ttl ms, how long the line's keys outlive their last waiter.
// Joins the line (once), refreshes the waiter's liveness, drops waiters that stopped asking, and
// takes the lock if this waiter is at the head of the line and the lock is free.
const ACQUIRE = `
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if not redis.call('zscore', KEYS[2], ARGV[1]) then redis.call('zadd', KEYS[2], now, ARGV[1]) end
redis.call('zadd', KEYS[3], now + tonumber(ARGV[3]), ARGV[1])
for _, gone in ipairs(redis.call('zrangebyscore', KEYS[3], '-inf', now)) do
  redis.call('zrem', KEYS[2], gone)
  redis.call('zrem', KEYS[3], gone)
end
redis.call('pexpire', KEYS[2], ARGV[4])
redis.call('pexpire', KEYS[3], ARGV[4])
local head = redis.call('zrange', KEYS[2], 0, 0)[1]
if head == ARGV[1] and redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  redis.call('zrem', KEYS[2], ARGV[1])
  redis.call('zrem', KEYS[3], ARGV[1])
  return 1
end
return 0`;

// Leaves the line (a waiter past its deadline).
const LEAVE = `redis.call('zrem', KEYS[1], ARGV[1]) redis.call('zrem', KEYS[2], ARGV[1]) return 0`;

// Deletes the key only if it still holds our token: never release a lock that expired and was
// taken by someone else meanwhile.
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class LockTimeoutError extends Error {
  override name = 'LockTimeoutError';
}

export interface UserLockOptions {
  /** The longest wait for the lock before LockTimeoutError (default two minutes). */
  waitMs?: number;
}

export function redisUserLock(
  redis: Redis,
  prefix: string,
  options: UserLockOptions = {},
): UserLock {
  const waitMs = options.waitMs ?? WAIT_MS;
  const local = new KeyedMutex();
  return <T>(userId: string, task: () => Promise<T>): Promise<T> => {
    const deadline = Date.now() + waitMs;
    return local.run(userId, async () => {
      const keys = {
        lock: `${prefix}uid-lock:${userId}`,
        line: `${prefix}uid-line:${userId}`,
        alive: `${prefix}uid-line-alive:${userId}`,
      };
      const token = randomBytes(12).toString('hex');
      await acquire(redis, keys, token, deadline);
      try {
        return await task();
      } finally {
        await redis.eval(RELEASE, 1, keys.lock, token).catch(() => undefined);
      }
    });
  };
}

async function acquire(
  redis: Redis,
  keys: { lock: string; line: string; alive: string },
  token: string,
  deadline: number,
): Promise<void> {
  const keep = WAIT_MS + WAITER_TTL_MS;
  for (let delay = 1; ; delay = Math.min(delay * 2, 16)) {
    // Fail closed: the caller answers 4xx and the sender retries later.
    if (Date.now() > deadline) {
      await redis.eval(LEAVE, 2, keys.line, keys.alive, token).catch(() => undefined);
      throw new LockTimeoutError('mailbox busy');
    }
    const taken = await redis.eval(
      ACQUIRE,
      3,
      keys.lock,
      keys.line,
      keys.alive,
      token,
      HOLD_MS,
      WAITER_TTL_MS,
      keep,
    );
    if (taken === 1) return;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
