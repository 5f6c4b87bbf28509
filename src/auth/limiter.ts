/**
 * Brute-force limiting per ACCOUNT, kept in Redis so that every daemon shares it.
 *
 * Never per IP: kzymy does not see client addresses (everything arrives from the local Tor
 * daemon), and keeping a table of them would be exactly the record DESIGN.md forbids. What is
 * kept is one small hash per account name under attack — failures, the earliest time the next
 * attempt may be checked, and a lock deadline — that expires by itself.
 *
 * - After a failure, each further attempt on the account takes the next free slot: slots are
 *   one delay apart, and the delay doubles with every failure (base .. max). Parallel
 *   connections therefore wait in line instead of guessing side by side.
 * - Each failure reply is also held for that delay.
 * - After `maxFailures` failures the account is locked for `lockSeconds`: attempts fail without
 *   checking the password. A success clears everything.
 * The client always sees the same failure, whichever of these happened. Times come from the
 * injected clock (stored as numbers), so a test can move past a lock instead of waiting.
 */
import { createHash } from 'node:crypto';
import type { Redis } from '../redis/connection';

export interface AuthLimiterOptions {
  redis: Redis;
  /** Redis key prefix of this deployment (config.redis.prefix). */
  prefix: string;
  maxFailures: number;
  lockSeconds: number;
  clock: () => Date;
  /** Delay after the first failure; doubles with each further one. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface FailureOutcome {
  failures: number;
  /** How long to hold the failure reply. */
  delayMs: number;
  /** True when this failure locked the account. */
  lockedNow: boolean;
}

const DEFAULT_BASE_DELAY_MS = 250;
const DEFAULT_MAX_DELAY_MS = 8000;

/**
 * Reserves the next attempt slot. Returns -1 when locked, -2 when the queue of waiting attempts
 * is longer than `maxWait`, else the milliseconds to wait.
 * KEYS[1] state; ARGV now, base, maxDelay, ttl, maxWait.
 */
const GATE = `
local key = KEYS[1]
local now = tonumber(ARGV[1])
local state = redis.call('HMGET', key, 'failures', 'notBefore', 'lockedUntil')
local failures = tonumber(state[1] or '0') or 0
local notBefore = tonumber(state[2] or '0') or 0
local lockedUntil = tonumber(state[3] or '0') or 0
if lockedUntil > now then return -1 end
if lockedUntil > 0 then
  redis.call('DEL', key)
  return 0
end
if failures == 0 then return 0 end
local delay = math.min(tonumber(ARGV[2]) * 2 ^ (failures - 1), tonumber(ARGV[3]))
local slot = math.max(notBefore, now)
if slot - now > tonumber(ARGV[5]) then return -2 end
redis.call('HSET', key, 'notBefore', math.floor(slot + delay))
redis.call('PEXPIRE', key, ARGV[4])
return math.floor(slot - now)
`;

/**
 * Counts a failure. Returns {failures, delay, lockedNow}.
 * KEYS[1] state; ARGV now, base, maxDelay, ttl, maxFailures, lockMs.
 */
const FAIL = `
local key = KEYS[1]
local now = tonumber(ARGV[1])
local failures = redis.call('HINCRBY', key, 'failures', 1)
local delay = math.floor(math.min(tonumber(ARGV[2]) * 2 ^ (failures - 1), tonumber(ARGV[3])))
local notBefore = tonumber(redis.call('HGET', key, 'notBefore') or '0') or 0
redis.call('HSET', key, 'notBefore', math.max(notBefore, now + delay))
local lockedNow = 0
if failures >= tonumber(ARGV[5]) and redis.call('HEXISTS', key, 'lockedUntil') == 0 then
  redis.call('HSET', key, 'lockedUntil', now + tonumber(ARGV[6]))
  lockedNow = 1
end
redis.call('PEXPIRE', key, ARGV[4])
return {failures, delay, lockedNow}
`;

export class AuthLimiter {
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: AuthLimiterOptions) {
    this.baseDelayMs = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
    this.maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    this.sleep =
      options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))));
  }

  /**
   * Waits for this attempt's slot. False: do not check the password, answer the generic
   * failure (the account is locked, or too many attempts are already waiting).
   */
  async gate(account: string): Promise<boolean> {
    const wait = Number(
      await this.options.redis.eval(
        GATE,
        1,
        this.key(account),
        this.now(),
        this.baseDelayMs,
        this.maxDelayMs,
        this.ttlMs(),
        this.maxDelayMs,
      ),
    );
    if (wait < 0) {
      await this.sleep(this.baseDelayMs);
      return false;
    }
    if (wait > 0) await this.sleep(wait);
    return true;
  }

  async recordFailure(account: string): Promise<FailureOutcome> {
    const result = (await this.options.redis.eval(
      FAIL,
      1,
      this.key(account),
      this.now(),
      this.baseDelayMs,
      this.maxDelayMs,
      this.ttlMs(),
      this.options.maxFailures,
      this.options.lockSeconds * 1000,
    )) as [number, number, number];
    return { failures: Number(result[0]), delayMs: Number(result[1]), lockedNow: result[2] === 1 };
  }

  /** Holds a failure reply for the delay `recordFailure` chose. */
  async hold(outcome: FailureOutcome): Promise<void> {
    await this.sleep(outcome.delayMs);
  }

  async recordSuccess(account: string): Promise<void> {
    await this.options.redis.del(this.key(account));
  }

  private now(): number {
    return this.options.clock().getTime();
  }

  /** Redis forgets an account after a quiet lock period (the lock itself is `lockedUntil`). */
  private ttlMs(): number {
    return this.options.lockSeconds * 2000 + this.maxDelayMs;
  }

  /** The account name is hashed: Redis need not hold the list of names being tried. */
  private key(account: string): string {
    const digest = createHash('sha256').update(account.toLowerCase()).digest('hex').slice(0, 32);
    return `${this.options.prefix}auth:${digest}`;
  }
}
