/**
 * When a user's destination may be tried again, shared by every daemon through Redis: after a
 * 4xx or no connection the next try waits retryMinSeconds, doubling up to retryMaxSeconds, and
 * a delivery resets it. It is per destination rather than per message: a mail server that is
 * down is down for all of them. Losing it (Redis restarted) only means an early retry.
 *
 * There is no end to the retries of its own: a message is retried until it is delivered, fetched
 * or deleted by the retention sweep, which is the end RFC 5321 §4.5.4.1 leaves to the sender.
 */
import type { Redis } from '../redis/connection';

export interface RetryState {
  attempts: number;
  nextAt: number;
}

export class ForwardBackoff {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {}

  private key(userId: string): string {
    return `${this.prefix}forward:retry:${userId}`;
  }

  /** True if the destination may be tried at `now`. A Redis failure says yes: better early than never. */
  async due(userId: string, now: number): Promise<boolean> {
    const state = await this.read(userId).catch(() => null);
    return state === null || state.nextAt <= now;
  }

  /** Records a failed attempt and returns when the next one is due. */
  async failed(userId: string, now: number): Promise<number> {
    const attempts = ((await this.read(userId).catch(() => null))?.attempts ?? 0) + 1;
    const exponential = Math.min(this.maxMs, this.minMs * 2 ** Math.min(attempts - 1, 30));
    // ±20%: daemons (and users) that failed together do not all come back in the same second.
    const delay = Math.round(exponential * (0.8 + Math.random() * 0.4));
    const state: RetryState = { attempts, nextAt: now + delay };
    await this.redis
      .set(this.key(userId), JSON.stringify(state), 'PX', delay + this.maxMs)
      .catch(() => undefined);
    return state.nextAt;
  }

  async reset(userId: string): Promise<void> {
    await this.redis.del(this.key(userId)).catch(() => undefined);
  }

  private async read(userId: string): Promise<RetryState | null> {
    const raw = await this.redis.get(this.key(userId));
    if (raw === null) return null;
    const parsed = JSON.parse(raw) as Partial<RetryState>;
    return typeof parsed.attempts === 'number' && typeof parsed.nextAt === 'number'
      ? { attempts: parsed.attempts, nextAt: parsed.nextAt }
      : null;
  }
}
