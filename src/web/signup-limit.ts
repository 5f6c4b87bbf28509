/**
 * A global signup limit: at most N accounts per clock hour for the whole server (every daemon
 * counts in the same Redis key). Deliberately not per client — kzymy cannot tell clients apart
 * and does not try to.
 */
import type { Redis } from '../redis/connection';

const HOUR_MS = 3600_000;

export class SignupLimit {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly perHour: number,
    private readonly clock: () => Date,
  ) {}

  /** Whether signups are open right now (without using one up). */
  async open(): Promise<boolean> {
    const used = Number((await this.redis.get(this.key())) ?? 0);
    return used < this.perHour;
  }

  /** Takes one signup from this hour's budget; false when it is spent. */
  async take(): Promise<boolean> {
    const key = this.key();
    const used = await this.redis.incr(key);
    // Two hours: the key outlives its hour whatever the clock skew between daemons.
    if (used === 1) await this.redis.expire(key, 7200);
    return used <= this.perHour;
  }

  /** Whole minutes until the next hour's budget opens. */
  minutesToNextWindow(): number {
    const now = this.clock().getTime();
    return Math.max(1, Math.ceil((HOUR_MS - (now % HOUR_MS)) / 60_000));
  }

  private key(): string {
    return `${this.prefix}web:signups:${Math.floor(this.clock().getTime() / HOUR_MS)}`;
  }
}
